"""Speed measurement: timing, multiply-add counts, fast modes, reports.

:mod:`.timing` times a forward; :mod:`.segmentor` builds a config's segmentor
for measuring; :mod:`.flops` counts multiply-adds; :mod:`.fast_modes` holds the
TF32/channels-last/autocast/compile/CUDA-graph paths and their output check;
:mod:`.suite` runs the paper's protocol over configs, forms and modes;
:mod:`.report` prints and writes the results.
"""
from .fast_modes import (TOLERANCES, ErrorCheck, FastMode, check_output,
                         fp32_protocol, prepare_mode, relative_max_error)
from .flops import MacCount, count_macs, count_macs_on_meta
from .matmul_peak import MatmulPeak, measure_matmul_peak
from .memory import PeakMemory, track_peak_memory
from .segmentor import (SegmentorForward, build_segmentor, config_name,
                        load_config)
from .suite import (ROW_FIELDS, BenchmarkRow, BenchmarkSettings,
                    benchmark_config, run_benchmark)
from .timing import Timing, synchronize, time_forward

__all__ = [
    'BenchmarkRow', 'BenchmarkSettings', 'ErrorCheck', 'FastMode', 'MacCount',
    'MatmulPeak', 'PeakMemory', 'ROW_FIELDS', 'SegmentorForward', 'TOLERANCES',
    'Timing', 'benchmark_config', 'build_segmentor', 'check_output',
    'config_name', 'count_macs', 'count_macs_on_meta', 'fp32_protocol',
    'load_config', 'measure_matmul_peak', 'prepare_mode', 'relative_max_error',
    'run_benchmark', 'synchronize', 'time_forward', 'track_peak_memory'
]
