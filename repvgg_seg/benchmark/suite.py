"""The segmentation speed benchmark: configs x forms x fast modes -> rows.

Protocol (paper, Table 8) by default: the model alone (backbone + decode head,
:class:`~repvgg_seg.apis.SegmentorForward`), random input of
``batch x 3 x H x W`` already on the device, float32 with TF32 off and
``cudnn.benchmark`` on, ``warmup`` untimed then ``iters`` timed batches with
device synchronisation. ``rounds > 1`` alternates all variants of a config
round by round and keeps each one's best, so a load spike on a shared machine
hits every variant alike instead of one.

Every variant's logits are first compared with the float32 *deployed* model's
(the reference): the training form's error is the re-parameterization error,
a fast mode's is its numerical cost. Variants over their tolerance are
reported as wrong and not timed. The rows are defined in :mod:`.rows`, the
variants built in :mod:`.variants`; this module runs them.
"""
import contextlib
import copy
import functools
import logging
import tempfile
from typing import Callable, Dict, Iterator, List, Optional, Sequence

import torch
from mmengine.logging import MMLogger

from repvgg_seg.apis import (SegmentorForward, build_segmentor, config_name,
                             has_training_form, load_config)
from repvgg_seg.deploy import switch_to_deploy
from .fast_modes import FastMode, fp32_protocol
from .flops import MacCount, count_macs_on_meta
from .memory import track_peak_memory
from .rows import FORMS, BenchmarkRow, BenchmarkSettings, new_row
from .timing import Timing, best_of_rounds, time_forward
from .variants import Variant, fail, onnx_variants, torch_variant

Progress = Callable[[str], None]


def form_mac_counts(cfg, input_hw: Sequence[int], forms: Sequence[str] = FORMS,
                    deployed_checkpoint: bool = False) -> Dict[str, MacCount]:
    """Multiply-adds of each form for one image, counted on the ``meta`` device.

    Args:
        cfg (Config): Segmentation config.
        input_hw (Sequence[int]): ``(H, W)``.
        forms (Sequence[str]): Forms to count.
        deployed_checkpoint (bool): The weights are deploy-form, so the
            training form does not exist.

    Returns:
        dict: Form name to :class:`MacCount` (backbone and decode head; use
        ``by_prefix('backbone')`` etc. for the split).
    """
    shadow = build_segmentor(cfg, device='meta')
    shape = (1, 3, *input_hw)
    counts = {}
    if 'train' in forms and not deployed_checkpoint:
        counts['train'] = count_macs_on_meta(shadow, shape, '_forward')
    if 'deploy' in forms:
        with _quiet_logger():
            switch_to_deploy(shadow)
        counts['deploy'] = count_macs_on_meta(shadow, shape, '_forward')
    return counts


def form_macs(cfg, input_hw: Sequence[int], forms: Sequence[str] = FORMS,
              deployed_checkpoint: bool = False) -> Dict[str, float]:
    """:func:`form_mac_counts` as multiply-adds per image."""
    return {form: count.per_image for form, count in form_mac_counts(
        cfg, input_hw, forms, deployed_checkpoint).items()}


@contextlib.contextmanager
def _quiet_logger() -> Iterator[None]:
    """Hide INFO lines of a conversion done only to count (the real one logs)."""
    logger = MMLogger.get_current_instance()
    saved = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _time_variant(variant: Variant, settings: BenchmarkSettings, round_: int,
                  log: Progress) -> Timing:
    row = variant.row
    tag = f'{row.form}/{row.mode}'
    if settings.rounds > 1:
        tag += f' round {round_ + 1}/{settings.rounds}'

    def progress(msg: str) -> None:
        log(f'{tag}: {msg}')

    with variant.context(), track_peak_memory(variant.memory_device) as memory:
        timing = time_forward(variant.fn, variant.inputs, settings.warmup,
                              settings.iters, progress)
    variant.memories.append(memory)
    log(f'{tag}: {timing.ms_per_batch:.1f} ms/batch, '
        f'{timing.images_per_s:.2f} images/s')
    return timing


def _finish_row(variant: Variant, macs: Dict[str, float]) -> BenchmarkRow:
    row = variant.row
    if row.form in macs:
        row.gmacs_per_image = macs[row.form] / 1e9
    measured = [m for m in variant.memories if m.growth_mib is not None]
    if measured:
        row.peak_growth_mib = max(m.growth_mib for m in measured)
        row.memory_kind = measured[0].kind
        if row.weights_mib is not None:
            row.peak_mib = row.weights_mib + row.peak_growth_mib
    elif variant.memories:
        row.memory_kind = 'not measured: ' + variant.memories[0].note
    if variant.best is not None:
        row.ms_per_batch = variant.best.ms_per_batch
        row.images_per_s = variant.best.images_per_s
        if row.gmacs_per_image is not None:
            row.tflops = 2 * row.gmacs_per_image * 1e9 * row.images_per_s / 1e12
    return row


def benchmark_config(config: str,
                     settings: BenchmarkSettings,
                     checkpoint: Optional[str] = None,
                     cfg_options: Optional[dict] = None,
                     progress: Progress = print) -> List[BenchmarkRow]:
    """Measure one config in every requested form and mode.

    Args:
        config (str): Config file.
        settings (BenchmarkSettings): What to measure.
        checkpoint (str, optional): Weights (training or deploy form);
            random weights otherwise.
        cfg_options (dict, optional): Config overrides.
        progress (callable): Receives progress lines. Default: ``print``.

    Returns:
        list[BenchmarkRow]: Training-form fp32 (if asked), deployed fp32,
        deployed fast modes, onnxruntime fp32 and INT8 (if asked); ratios still unset (see
        :func:`repvgg_seg.benchmark.report.add_ratios`).
    """
    name = config_name(config)

    def log(msg: str) -> None:
        progress(f'[{name}] {msg}')

    device = torch.device(settings.device)
    cfg = load_config(config, cfg_options)
    log(f'building ({"random weights" if checkpoint is None else checkpoint}) '
        f'on {device}')
    model = build_segmentor(cfg, checkpoint, device)
    has_train_form = has_training_form(model)
    forms = [f for f in settings.forms if f == 'deploy' or has_train_form]
    macs = form_macs(cfg, settings.shape, forms,
                     deployed_checkpoint=not has_train_form)
    log('GMACs per image: '
        + ', '.join(f'{k} {v / 1e9:.4g}' for k, v in macs.items()))

    # A deploy-form checkpoint may still hold unfused head BNs: fuse them.
    deployed = switch_to_deploy(copy.deepcopy(model) if has_train_form else model)
    if 'train' not in forms:
        model = None
    gen = torch.Generator(device='cpu').manual_seed(settings.seed)
    inputs = torch.randn(settings.batch_size, 3, *settings.shape,
                         generator=gen).to(device)
    with fp32_protocol(), torch.inference_mode():
        reference = SegmentorForward(deployed).eval()(inputs).clone()

    variants: List[Variant] = []
    if 'train' in settings.forms:
        if model is None:
            row = new_row(name, 'train', 'fp32', str(device), settings)
            fail(row, 'skipped', 'the checkpoint is in deploy form; there is '
                  'no training form to time', log)
            variants.append(Variant(row=row))
        else:
            variants.append(torch_variant(model, 'train', FastMode(), inputs,
                                           reference, settings, name, log))
    if 'deploy' in settings.forms:
        for mode in (FastMode(), *settings.modes):
            variants.append(torch_variant(deployed, 'deploy', mode, inputs,
                                           reference, settings, name, log))
    with tempfile.TemporaryDirectory() as workdir:
        variants += onnx_variants(deployed, inputs, reference, settings, name,
                                  workdir, log)
        runnable = [v for v in variants if v.row.status == 'ok']
        bests = best_of_rounds(
            [functools.partial(_time_variant, v, settings, log=log)
             for v in runnable], settings.rounds)
        for variant, best in zip(runnable, bests):
            variant.best = best

    rows = [_finish_row(v, macs) for v in variants]
    by_key = {r.key: r for r in rows}
    for row in rows:
        train = by_key.get((name, 'train', row.mode))
        if (row.form == 'deploy' and train is not None and train.ms_per_batch
                and row.ms_per_batch):
            row.deploy_speedup = train.ms_per_batch / row.ms_per_batch
    return rows


def run_benchmark(configs: Sequence[str],
                  settings: BenchmarkSettings,
                  checkpoints: Optional[Sequence[Optional[str]]] = None,
                  cfg_options: Optional[dict] = None,
                  progress: Progress = print) -> List[BenchmarkRow]:
    """:func:`benchmark_config` for each config, one after the other.

    Args:
        configs (Sequence[str]): Config files.
        settings (BenchmarkSettings): Shared settings.
        checkpoints (Sequence[str | None], optional): One per config.
        cfg_options (dict, optional): Overrides applied to every config.
        progress (callable): Receives progress lines.

    Returns:
        list[BenchmarkRow]: All rows, config by config.
    """
    checkpoints = list(checkpoints or [None] * len(configs))
    if len(checkpoints) != len(configs):
        raise ValueError(f'{len(checkpoints)} checkpoints for {len(configs)} '
                         'configs: give one per config (or none)')
    rows: List[BenchmarkRow] = []
    for i, (config, ckpt) in enumerate(zip(configs, checkpoints)):
        progress(f'config {i + 1}/{len(configs)}: {config}')
        rows.extend(benchmark_config(config, settings, ckpt, cfg_options, progress))
        # Free this config's models before building the next one.
        if torch.device(settings.device).type == 'cuda':
            torch.cuda.empty_cache()
    return rows
