"""The benchmark's row schema: what a run measures, and one measured variant.

Every variant of every config becomes one :class:`BenchmarkRow`; the printed
table, JSON and CSV (:mod:`.report`) are views of these rows.
"""
from dataclasses import dataclass, fields
from typing import Optional, Tuple

from repvgg_seg.apis import TOLERANCES
from .fast_modes import FastMode

FORMS = ('train', 'deploy')
ORT_MODE = 'onnxruntime'
INT8_MODE = 'onnxruntime_int8'
# INT8 logits are not fp32 logits to a tolerance; a broken quantization shows
# as class agreement far from 1 (random weights agree less than trained ones,
# so the bar is low: the trained model's cost is tools/quantize.py's mIoU).
INT8_MIN_AGREEMENT = 0.5


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
        onnxruntime_int8 (bool): Also time it quantized to INT8 (static
            QDQ, calibrated on ``calib_batches`` random batches of the
            input's size; class agreement with fp32 is reported).
        calib_batches (int): Calibration batches for the INT8 row.
        tolerance (float, optional): One tolerance for every check instead of
            the per-precision defaults of :data:`repvgg_seg.apis.TOLERANCES`.
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
    onnxruntime_int8: bool = False
    calib_batches: int = 4
    tolerance: Optional[float] = None
    seed: int = 0

    def __post_init__(self) -> None:
        unknown = set(self.forms) - set(FORMS)
        if unknown or not self.forms:
            raise ValueError(f'forms must be some of {FORMS}, got {self.forms}')
        if (self.modes or self.onnxruntime or self.onnxruntime_int8) and \
                'deploy' not in self.forms:
            raise ValueError('fast modes and onnxruntime are timed on the '
                             "deployed form; add 'deploy' to the forms")
        if self.calib_batches < 1:
            raise ValueError(f'calib_batches must be >= 1, got {self.calib_batches}')
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


def new_row(name: str, form: str, mode: str, device: str,
            settings: BenchmarkSettings) -> BenchmarkRow:
    """An unmeasured row of ``settings``' shape for one variant."""
    h, w = settings.shape
    return BenchmarkRow(config=name, form=form, mode=mode, device=device,
                        batch_size=settings.batch_size, height=h, width=w,
                        warmup=settings.warmup, iters=settings.iters,
                        rounds=settings.rounds)
