"""What a process learns from its launcher and its machine (a leaf module).

The pre-run checks and the work-dir lock run before mmengine initialises
torch.distributed, when ``mmengine.dist.get_rank()`` still says 0 in every
process, so they read the ranks the launchers put in the environment.
"""
import os
from typing import Sequence

# torchrun, Slurm (srun) and Open MPI, in that order: torchrun inside a Slurm
# job sets its own ranks, which are the ones that count.
_GLOBAL_RANK = ('RANK', 'SLURM_PROCID', 'OMPI_COMM_WORLD_RANK')
_LOCAL_RANK = ('LOCAL_RANK', 'SLURM_LOCALID', 'OMPI_COMM_WORLD_LOCAL_RANK')


def _first_rank(names: Sequence[str]) -> int:
    for name in names:
        if os.environ.get(name, '').isdigit():
            return int(os.environ[name])
    return 0


def global_rank() -> int:
    """This process's rank among all processes of the job (0 alone)."""
    return _first_rank(_GLOBAL_RANK)


def local_rank() -> int:
    """This process's rank among the job's processes on this machine."""
    return _first_rank(_LOCAL_RANK)


def usable_cpus(limit: int = 8) -> int:
    """The CPUs this process may run on (its affinity set), at most ``limit``:
    the default worker count of the parallel file checks and conversions."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS / Windows
        cpus = os.cpu_count() or 1
    return max(1, min(limit, cpus))
