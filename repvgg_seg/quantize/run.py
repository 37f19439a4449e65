"""``tools/quantize.py``: export, calibrate, quantize, then score and time both.

fp32 and INT8 are evaluated by the same thing: mmseg's test loop on the
config's test split with onnxruntime doing the network forward
(:class:`repvgg_seg.export.ONNXEncoderDecoder`), so the two mIoUs differ only
by what quantization changed. Both are timed in one run, alternating, with
the same threads and input.
"""
import datetime
import json
import os
import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from repvgg_seg.apis import check_output, config_name, init_segmentor, load_config
from repvgg_seg.benchmark.environment import cpu_model
from repvgg_seg.benchmark.timing import best_of_rounds, time_forward
from repvgg_seg.engine.cli import build_runner
from repvgg_seg.engine.setup import setup_test_cfg
from repvgg_seg.export import export_segmentor, ort_run, ort_session
from repvgg_seg.export.int8 import quantize_onnx
from .calibration import calibration_images, network_inputs

Progress = Callable[[str], None]


@dataclass
class QuantizeReport:
    """What ``tools/quantize.py`` measured (written as ``quantize.json``)."""

    config: str
    checkpoint: str
    method: str
    calib_num: int
    calib_inputs: int
    shape: Tuple[int, int]
    threads: int
    fp32_onnx: str
    int8_onnx: str
    miou_fp32: Optional[float] = None
    miou_int8: Optional[float] = None
    metrics_fp32: Dict[str, float] = field(default_factory=dict)
    metrics_int8: Dict[str, float] = field(default_factory=dict)
    agreement: Optional[float] = None
    ms_fp32: Optional[float] = None
    ms_int8: Optional[float] = None
    speedup: Optional[float] = None
    cpu: str = ''
    date: str = ''

    def table(self) -> str:
        def fmt(value, spec):
            return '-' if value is None else format(value, spec)
        lines = [f'{"":6} {"mIoU":>7} {"ms/img":>9}   ({self.shape[0]}x{self.shape[1]}, '
                 f'{self.threads} threads, {self.cpu})',
                 f'{"fp32":6} {fmt(self.miou_fp32, "7.2f")} {fmt(self.ms_fp32, "9.1f")}',
                 f'{"int8":6} {fmt(self.miou_int8, "7.2f")} {fmt(self.ms_int8, "9.1f")}']
        if self.miou_fp32 is not None and self.miou_int8 is not None:
            lines.append(f'INT8 - fp32: {self.miou_int8 - self.miou_fp32:+.2f} mIoU')
        if self.speedup:
            lines.append(f'INT8 speed-up over onnxruntime fp32: {self.speedup:.2f}x')
        if self.agreement is not None:
            lines.append(f'same class as fp32 at {self.agreement * 100:.2f}% of the '
                         'calibration inputs\' logit pixels')
        return '\n'.join(lines)


def evaluate_onnx(config: str, onnx_file: str, work_dir: str,
                  cfg_options: Optional[dict] = None) -> Dict[str, float]:
    """The config's test metrics for an exported model (mmseg's test loop)."""
    cfg = setup_test_cfg(load_config(config, cfg_options), config, onnx_file,
                         work_dir=work_dir)
    # Its own name: two runners in one second would share logger and visualizer.
    cfg.experiment_name = f'{config_name(config)}_{osp.basename(onnx_file)}'
    return dict(build_runner(cfg).test())


def _time_pair(sessions: Sequence, shape: Tuple[int, int], warmup: int,
               iters: int, rounds: int) -> List[float]:
    """ms per image of each session, best of alternating rounds."""
    x = torch.from_numpy(np.random.default_rng(0).standard_normal(
        (1, 3, *shape), dtype=np.float32))
    timings = best_of_rounds(
        [lambda _round, s=session: time_forward(lambda t: ort_run(s, t), x,
                                                warmup, iters)
         for session in sessions], rounds)
    return [t.ms_per_batch for t in timings]


def quantize_config(config: str, checkpoint: str, out_dir: str,
                    calib_num: int = 32, method: str = 'minmax',
                    shape: Optional[Tuple[int, int]] = None,
                    cfg_options: Optional[dict] = None,
                    evaluate: bool = True, warmup: int = 3, iters: int = 10,
                    rounds: int = 3, strict: bool = True,
                    progress: Progress = print) -> QuantizeReport:
    """Quantize a trained segmentor to INT8 and measure what it costs.

    Args:
        config (str): Segmentation config.
        checkpoint (str): Trained weights (training or deploy form).
        out_dir (str): Where the two ONNX files, test logs and
            ``quantize.json`` go.
        calib_num (int): Training images to calibrate on.
        method (str): ``'minmax'``, ``'entropy'`` or ``'percentile'``.
        shape (tuple, optional): ``(H, W)`` to time at; default: the size of
            the first calibration input.
        cfg_options (dict, optional): Config overrides.
        evaluate (bool): Score both on the test split. Default: True.
        warmup, iters, rounds (int): Timing: untimed and timed runs per
            round; alternating rounds, best kept.
        strict (bool): Refuse a checkpoint that does not fit the model.
        progress (callable): Receives progress lines.

    Returns:
        QuantizeReport: Also written to ``out_dir/quantize.json``.
    """
    cfg = load_config(config, cfg_options)
    os.makedirs(out_dir, exist_ok=True)
    images = calibration_images(cfg, calib_num)
    progress(f'building the deployed model from {checkpoint}')
    model = init_segmentor(cfg, checkpoint, 'cpu', deploy=True, strict=strict)
    batches = network_inputs(model, images)
    progress(f'calibration: {len(images)} training images -> {len(batches)} '
             f'network inputs of {"x".join(map(str, batches[0].shape[2:]))}')
    name = config_name(config)
    fp32 = osp.join(out_dir, f'{name}_fp32.onnx')
    int8 = osp.join(out_dir, f'{name}_int8.onnx')
    h, w = batches[0].shape[2:]
    result = export_segmentor(model, fp32, (1, 3, h, w), resize_to_input=False,
                              config=config)
    progress(f'exported {fp32}: {result.check}')
    if not result.check.ok:
        raise RuntimeError(f'the fp32 export does not match PyTorch: {result.check}')
    progress(f'quantizing ({method} calibration, per-channel int8 weights, uint8 '
             f'activations) -> {int8}')
    quantize_onnx(fp32, int8, batches, method)

    s32, s8 = ort_session(fp32), ort_session(int8)
    agreements = [check_output(torch.from_numpy(ort_run(s8, b)),
                               torch.from_numpy(ort_run(s32, b)), 0.0).agreement
                  for b in batches[:8]]
    report = QuantizeReport(
        config=config, checkpoint=checkpoint, method=method, calib_num=len(images),
        calib_inputs=len(batches), shape=tuple(shape or (h, w)),
        threads=torch.get_num_threads(), fp32_onnx=fp32, int8_onnx=int8,
        agreement=float(np.mean(agreements)), cpu=cpu_model(),
        date=datetime.date.today().isoformat())
    if evaluate:
        for kind, path in (('fp32', fp32), ('int8', int8)):
            progress(f'testing the {kind} model on the test split')
            metrics = evaluate_onnx(config, path, osp.join(out_dir, f'test_{kind}'),
                                    cfg_options)
            setattr(report, f'metrics_{kind}', {k: float(v) for k, v in metrics.items()})
            setattr(report, f'miou_{kind}', float(metrics['mIoU']))
    progress(f'timing both at {report.shape[0]}x{report.shape[1]}, '
             f'{report.threads} threads')
    report.ms_fp32, report.ms_int8 = _time_pair([s32, s8], report.shape, warmup,
                                                iters, rounds)
    report.speedup = report.ms_fp32 / report.ms_int8
    with open(osp.join(out_dir, 'quantize.json'), 'w') as f:
        json.dump(asdict(report), f, indent=2)
        f.write('\n')
    return report
