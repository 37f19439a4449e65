"""Speed measurement: timing, multiply-add counts, fast modes, reports.

:mod:`.timing` times a forward (the segmentor comes from
:mod:`repvgg_seg.apis`); :mod:`.flops` counts multiply-adds; :mod:`.fast_modes` holds the
TF32/channels-last/autocast/compile/CUDA-graph paths and their output check;
:mod:`.rows` defines what is measured, :mod:`.variants` builds each
form/mode (PyTorch, onnxruntime fp32 and INT8) and :mod:`.suite` runs the
paper's protocol over them;
:mod:`.report` prints and writes the results.
"""
from .fast_modes import FastMode, fp32_protocol, prepare_mode
from .flops import MacCount, count_macs, count_macs_on_meta
from .matmul_peak import MatmulPeak, measure_matmul_peak
from .memory import PeakMemory, track_peak_memory
from .rows import ROW_FIELDS, BenchmarkRow, BenchmarkSettings
from .suite import benchmark_config, run_benchmark
from .timing import Timing, synchronize, time_forward

__all__ = [
    'BenchmarkRow', 'BenchmarkSettings', 'FastMode', 'MacCount', 'MatmulPeak',
    'PeakMemory', 'ROW_FIELDS', 'Timing', 'benchmark_config', 'count_macs',
    'count_macs_on_meta', 'fp32_protocol', 'measure_matmul_peak',
    'prepare_mode', 'run_benchmark', 'synchronize', 'time_forward',
    'track_peak_memory'
]
