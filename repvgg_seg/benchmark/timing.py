"""Timing a forward pass: warm-up, synchronised timed batches, images/s."""
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence

import torch
from torch import Tensor


@dataclass
class Timing:
    """Result of :func:`time_forward`."""

    batch_size: int
    iters: int
    seconds: float

    @property
    def ms_per_batch(self) -> float:
        return self.seconds / self.iters * 1e3

    @property
    def images_per_s(self) -> float:
        return self.batch_size * self.iters / self.seconds


def synchronize(device: torch.device) -> None:
    """Wait for queued kernels, so wall-clock time covers the work itself."""
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


@torch.inference_mode()
def time_forward(fn: Callable[[Tensor], object], inputs: Tensor, warmup: int = 10,
                 iters: int = 20,
                 progress: Optional[Callable[[str], None]] = None) -> Timing:
    """Time ``fn(inputs)`` over ``iters`` batches after ``warmup`` batches.

    Args:
        fn: The forward to time (a model, or a compiled/graphed callable).
        inputs (Tensor): One batch, already on its device.
        warmup (int): Untimed batches first (allocator, cudnn autotune, JIT).
        iters (int): Timed batches.
        progress (callable, optional): Called with a short status line.

    Returns:
        Timing: Batch size, timed batches and elapsed seconds.
    """
    for i in range(warmup):
        fn(inputs)
        if progress and (i + 1) % max(1, warmup // 5) == 0:
            progress(f'warm-up {i + 1}/{warmup}')
    synchronize(inputs.device)
    start = time.perf_counter()
    for i in range(iters):
        fn(inputs)
        if progress and (i + 1) % max(1, iters // 5) == 0:
            synchronize(inputs.device)
            progress(f'timed {i + 1}/{iters}')
    synchronize(inputs.device)
    return Timing(batch_size=inputs.shape[0], iters=iters,
                  seconds=time.perf_counter() - start)


def best_of_rounds(measures: Sequence[Callable[[int], Timing]],
                   rounds: int) -> List[Timing]:
    """Call every measure once per round, in turn, and keep each one's best.

    Alternating the candidates round by round lets a load spike on a shared
    machine hit all of them alike instead of one, so their ratio holds.

    Args:
        measures (Sequence[callable]): ``measure(round_index) -> Timing``.
        rounds (int): Rounds (>= 1).

    Returns:
        list[Timing]: The fastest timing of each measure, in order.
    """
    best: List[Optional[Timing]] = [None] * len(measures)
    for round_ in range(rounds):
        for i, measure in enumerate(measures):
            timing = measure(round_)
            if best[i] is None or timing.seconds < best[i].seconds:
                best[i] = timing
    return best
