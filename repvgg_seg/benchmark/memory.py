"""Peak memory of a measured run: CUDA allocator peak, or CPU peak RSS.

Both devices report the *growth* of memory over the measured block: on CUDA
``torch.cuda.max_memory_allocated`` minus what was allocated before (what the
forward needs on top of resident tensors, not what the caching allocator
happens to hold); on Linux CPUs the process's peak resident set (``VmHWM``,
reset through ``/proc/self/clear_refs``) minus the resident set before.
Growth rather than the absolute peak, because a benchmark keeps several
models resident at once (training form, deployed form, fast-mode copies);
add the model's own weights for what it needs alone. Elsewhere memory is not
measured and a note says so.
"""
import contextlib
from dataclasses import dataclass
from typing import Iterator, Optional

import torch

_STATUS = '/proc/self/status'
_CLEAR_REFS = '/proc/self/clear_refs'


@dataclass
class PeakMemory:
    """Result of :func:`track_peak_memory` (filled in when the block ends).

    Attributes:
        growth_mib (float, optional): Peak growth in MiB over the block, None
            when not measurable.
        absolute_mib (float, optional): The absolute peak (CUDA max
            allocated, or CPU peak RSS) in MiB.
        kind (str): What was measured: ``'cuda allocated'``, ``'cpu RSS'``
            or ``'not measured'``.
        note (str): Why it was not measured, if it was not.
    """

    growth_mib: Optional[float] = None
    absolute_mib: Optional[float] = None
    kind: str = 'not measured'
    note: str = ''


def _status_kib(field: str) -> Optional[int]:
    try:
        with open(_STATUS) as f:
            for line in f:
                if line.startswith(field + ':'):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_cpu_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux >= 4.0)."""
    try:
        with open(_CLEAR_REFS, 'w') as f:
            f.write('5')
        return True
    except OSError:
        return False


@contextlib.contextmanager
def track_peak_memory(device: torch.device) -> Iterator[PeakMemory]:
    """Measure the peak memory used inside the ``with`` block.

    Args:
        device (torch.device): Where the model runs.

    Yields:
        PeakMemory: Filled in on exit.
    """
    device = torch.device(device)
    result = PeakMemory()
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        yield result
        torch.cuda.synchronize(device)
        peak = torch.cuda.max_memory_allocated(device)
        result.growth_mib = max(0, peak - before) / 2**20
        result.absolute_mib = peak / 2**20
        result.kind = 'cuda allocated'
        return
    if device.type != 'cpu':
        result.note = f'no memory measurement for {device.type}'
        yield result
        return
    before = _status_kib('VmRSS')
    if before is None or not _reset_cpu_peak():
        result.note = ('peak RSS needs Linux /proc/self/status and '
                       '/proc/self/clear_refs')
        yield result
        return
    yield result
    peak = _status_kib('VmHWM')
    if peak is not None:
        result.growth_mib = max(0, peak - before) / 1024
        result.absolute_mib = peak / 1024
        result.kind = 'cpu RSS'
