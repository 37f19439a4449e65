"""The segmentation speed benchmark: configs x forms x fast modes -> rows.

Protocol (paper, Table 8) by default: the model alone (backbone + decode head,
:class:`~repvgg_seg.benchmark.segmentor.SegmentorForward`), random input of
``batch x 3 x H x W`` already on the device, float32 with TF32 off and
``cudnn.benchmark`` on, ``warmup`` untimed then ``iters`` timed batches with
device synchronisation. ``rounds > 1`` alternates all variants of a config
round by round and keeps each one's best, so a load spike on a shared machine
hits every variant alike instead of one.

Every variant's logits are first compared with the float32 *deployed* model's
(the reference): the training form's error is the re-parameterization error,
a fast mode's is its numerical cost. Variants over their tolerance are
reported as wrong and not timed.
"""
import contextlib
import copy
import logging
import os
import tempfile
import traceback
from dataclasses import dataclass, field, fields
from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
from mmengine.logging import MMLogger
from torch import Tensor, nn

from repvgg_seg.deploy import switch_to_deploy
from .fast_modes import (TOLERANCES, FastMode, PreparedMode, check_output,
                         fp32_protocol, prepare_mode)
from .flops import MacCount, count_macs_on_meta
from .memory import PeakMemory, track_peak_memory
from .segmentor import (SegmentorForward, build_segmentor, config_name,
                        has_training_form, load_config)
from .timing import Timing, time_forward

Progress = Callable[[str], None]
FORMS = ('train', 'deploy')
ORT_MODE = 'onnxruntime'


@dataclass
class BenchmarkSettings:
    """What to measure, shared by every config of a run.

    Args:
        device (str): ``'cuda'``, ``'cuda:1'``, ``'cpu'``.
        batch_size (int): Images per batch. Paper: 16.
        shape (tuple): Input ``(H, W)``. Paper: ``(713, 713)``.
        warmup (int): Untimed batches per timing. Paper: 50.
        iters (int): Timed batches per timing. Paper: 50.
        rounds (int): Timings per variant, alternating variants; the best
            counts. Default: 1.
        forms (tuple): ``'train'`` and/or ``'deploy'``.
        modes (tuple[FastMode]): Fast modes timed on the deployed form beside
            its fp32 protocol run.
        onnxruntime (bool): Also time an onnxruntime CPU session of the
            deployed model.
        tolerance (float, optional): One tolerance for every check instead of
            the per-precision defaults of :data:`TOLERANCES`.
        seed (int): Seed of the random input batch.
    """

    device: str = 'cpu'
    batch_size: int = 16
    shape: Tuple[int, int] = (713, 713)
    warmup: int = 50
    iters: int = 50
    rounds: int = 1
    forms: Tuple[str, ...] = ('deploy', )
    modes: Tuple[FastMode, ...] = ()
    onnxruntime: bool = False
    tolerance: Optional[float] = None
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.forms) - set(FORMS)
        if unknown or not self.forms:
            raise ValueError(f'forms must be some of {FORMS}, got {self.forms}')
        if self.modes and 'deploy' not in self.forms:
            raise ValueError('fast modes are timed on the deployed form; add '
                             "'deploy' to the forms")
        if min(self.batch_size, self.iters, self.rounds) < 1 or self.warmup < 0:
            raise ValueError('batch size, iters and rounds must be >= 1 and '
                             'warmup >= 0')

    def tolerance_for(self, precision: str) -> float:
        return self.tolerance if self.tolerance is not None else TOLERANCES[precision]


@dataclass
class BenchmarkRow:
    """One measured variant: a config in one form and mode.

    ``status`` is ``'ok'``, ``'wrong'`` (output over tolerance: not timed),
    ``'skipped'`` (cannot run here; ``note`` says why) or ``'error'`` (it
    raised; ``note`` has the message). Memory is ``weights_mib`` plus
    ``peak_growth_mib``, the peak growth over the timed run (activations and
    workspaces; see :mod:`~repvgg_seg.benchmark.memory`).
    """

    config: str
    form: str
    mode: str
    device: str
    batch_size: int
    height: int
    width: int
    warmup: int
    iters: int
    rounds: int
    status: str = 'ok'
    note: str = ''
    ms_per_batch: Optional[float] = None
    images_per_s: Optional[float] = None
    weights_mib: Optional[float] = None
    peak_growth_mib: Optional[float] = None
    peak_mib: Optional[float] = None
    memory_kind: str = ''
    gmacs_per_image: Optional[float] = None
    tflops: Optional[float] = None
    rel_max_err: Optional[float] = None
    tolerance: Optional[float] = None
    class_agreement: Optional[float] = None
    deploy_speedup: Optional[float] = None
    ratio_to_baseline: Optional[float] = None
    matmul_fraction: Optional[float] = None

    @property
    def key(self) -> Tuple[str, str, str]:
        return self.config, self.form, self.mode


ROW_FIELDS = tuple(f.name for f in fields(BenchmarkRow))


@dataclass
class _Variant:
    """A row being measured: its callable, input and best timing so far."""

    row: BenchmarkRow
    fn: Optional[Callable[[Tensor], object]] = None
    inputs: Optional[Tensor] = None
    context: Callable = fp32_protocol
    memory_device: Optional[torch.device] = None
    best: Optional[Timing] = None
    memories: List[PeakMemory] = field(default_factory=list)


def _weights_mib(model: nn.Module) -> float:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


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


def _new_row(name: str, form: str, mode: str, device: str,
             settings: BenchmarkSettings) -> BenchmarkRow:
    h, w = settings.shape
    return BenchmarkRow(config=name, form=form, mode=mode, device=device,
                        batch_size=settings.batch_size, height=h, width=w,
                        warmup=settings.warmup, iters=settings.iters,
                        rounds=settings.rounds)


def _record_check(row: BenchmarkRow, output: Tensor, reference: Tensor,
                  tolerance: float, log: Progress) -> None:
    check = check_output(output, reference, tolerance)
    row.rel_max_err = check.rel_max_err
    row.tolerance = check.tolerance
    row.class_agreement = check.agreement
    log(f'{row.form}/{row.mode}: {check}')
    if not check.ok:
        row.status = 'wrong'
        row.note = (f'relative max error {check.rel_max_err:.2e} > '
                    f'{check.tolerance:.0e}: not timed')


def _fail(row: BenchmarkRow, status: str, note: str, log: Progress) -> None:
    row.status, row.note = status, note
    log(f'{row.form}/{row.mode}: {status}: {note}')


def _ort_variant(deployed: nn.Module, inputs: Tensor, reference: Tensor,
                 settings: BenchmarkSettings, name: str, workdir: str,
                 log: Progress) -> _Variant:
    row = _new_row(name, 'deploy', ORT_MODE, 'cpu', settings)
    variant = _Variant(row=row, memory_device=torch.device('cpu'))
    from repvgg_seg.export.onnx import (OnnxInputSizeError, export_onnx,
                                        ort_run, ort_session)
    try:
        cpu_model = SegmentorForward(copy.deepcopy(deployed).cpu()).eval()
        cpu_inputs = inputs.detach().cpu()
        path = os.path.join(workdir, f'{name}.onnx')
        log(f'deploy/{ORT_MODE}: exporting {path}')
        export_onnx(cpu_model, cpu_inputs, path)
        session = ort_session(path)
        row.weights_mib = os.path.getsize(path) / 2**20
        del cpu_model
    except OnnxInputSizeError as err:
        _fail(row, 'skipped', str(err), log)
        return variant
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        _fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return variant
    array = cpu_inputs.float().numpy()
    output = torch.from_numpy(ort_run(session, array))
    _record_check(row, output, reference.cpu(), settings.tolerance_for('fp32'), log)
    variant.fn = lambda _x: ort_run(session, array)
    variant.inputs = cpu_inputs
    return variant


def _torch_variant(model: nn.Module, form: str, mode: FastMode, inputs: Tensor,
                   reference: Tensor, settings: BenchmarkSettings, name: str,
                   log: Progress) -> _Variant:
    row = _new_row(name, form, mode.name, str(inputs.device), settings)
    variant = _Variant(row=row, memory_device=inputs.device)
    row.weights_mib = _weights_mib(model)
    reason = mode.unsupported_reason(inputs.device)
    if reason:
        _fail(row, 'skipped', reason, log)
        return variant
    forward = SegmentorForward(model).eval()
    try:
        with track_peak_memory(inputs.device) as memory:
            prepared: PreparedMode = prepare_mode(forward, inputs, mode)
        # A captured CUDA graph keeps its activations in a private pool
        # allocated at capture, before any timed batch: count it.
        if mode.cuda_graphs and not mode.compile:
            variant.memories.append(memory)
        with prepared.context(), torch.inference_mode():
            if mode.compile:
                log(f'{form}/{mode.name}: compiling (first call)')
            output = prepared.fn(prepared.inputs)
            # Static outputs (CUDA graphs) are overwritten by the next call.
            output = output.detach().clone()
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        log(traceback.format_exc(limit=3))
        _fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return variant
    _record_check(row, output, reference, settings.tolerance_for(mode.precision), log)
    variant.fn, variant.inputs = prepared.fn, prepared.inputs
    variant.context = prepared.context
    return variant


def _time_variant(variant: _Variant, settings: BenchmarkSettings, round_: int,
                  log: Progress) -> None:
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
    if variant.best is None or timing.seconds < variant.best.seconds:
        variant.best = timing
    log(f'{tag}: {timing.ms_per_batch:.1f} ms/batch, '
        f'{timing.images_per_s:.2f} images/s')


def _finish_row(variant: _Variant, macs: Dict[str, float]) -> BenchmarkRow:
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
        deployed fast modes, onnxruntime (if asked); ratios still unset (see
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

    variants: List[_Variant] = []
    if 'train' in settings.forms:
        if model is None:
            row = _new_row(name, 'train', 'fp32', str(device), settings)
            _fail(row, 'skipped', 'the checkpoint is in deploy form; there is '
                  'no training form to time', log)
            variants.append(_Variant(row=row))
        else:
            variants.append(_torch_variant(model, 'train', FastMode(), inputs,
                                           reference, settings, name, log))
    if 'deploy' in settings.forms:
        for mode in (FastMode(), *settings.modes):
            variants.append(_torch_variant(deployed, 'deploy', mode, inputs,
                                           reference, settings, name, log))
    with tempfile.TemporaryDirectory() as workdir:
        if settings.onnxruntime:
            variants.append(_ort_variant(deployed, inputs, reference, settings,
                                         name, workdir, log))
        runnable = [v for v in variants if v.row.status == 'ok']
        for round_ in range(settings.rounds):
            for variant in runnable:
                _time_variant(variant, settings, round_, log)

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
