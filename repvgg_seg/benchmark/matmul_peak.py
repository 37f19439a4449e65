"""The device's dense matmul rate, measured in the same run as the models.

A vendor's peak figure assumes clocks and conditions the benchmark may not
see; a large square bf16 matmul measured right beside the models gives the
rate a well-shaped dense workload actually reaches on this device, so "% of
matmul rate" tells how far a segmentor is from it.
"""
import time
from dataclasses import dataclass
from typing import Optional

import torch

from .timing import synchronize


@dataclass
class MatmulPeak:
    """Measured dense matmul rate.

    Attributes:
        tflops (float): Achieved TFLOP/s (2 FLOPs per multiply-add).
        size (int): Side of the square matrices.
        dtype (str): Element type, e.g. ``'bfloat16'``.
        device (str): Where it ran.
    """

    tflops: float
    size: int
    dtype: str
    device: str


@torch.inference_mode()
def measure_matmul_peak(device: torch.device,
                        dtype: torch.dtype = torch.bfloat16,
                        size: Optional[int] = None,
                        warmup: int = 5,
                        iters: int = 20) -> MatmulPeak:
    """Time ``iters`` products of two ``size x size`` matrices.

    Args:
        device (torch.device): Device to measure.
        dtype (torch.dtype): Element type. Default: bfloat16.
        size (int, optional): Matrix side; default 8192 on CUDA (large enough
            to saturate tensor cores), 1024 elsewhere (seconds, not minutes).
        warmup (int): Untimed products first. Default: 5.
        iters (int): Timed products. Default: 20.

    Returns:
        MatmulPeak: The achieved rate.
    """
    device = torch.device(device)
    if size is None:
        size = 8192 if device.type == 'cuda' else 1024
    gen = torch.Generator(device='cpu').manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    b = torch.randn(size, size, generator=gen).to(device=device, dtype=dtype)
    out = torch.empty(size, size, device=device, dtype=dtype)
    for _ in range(warmup):
        torch.mm(a, b, out=out)
    synchronize(device)
    start = time.perf_counter()
    for _ in range(iters):
        torch.mm(a, b, out=out)
    synchronize(device)
    seconds = time.perf_counter() - start
    return MatmulPeak(tflops=2 * size**3 * iters / seconds / 1e12, size=size,
                      dtype=str(dtype).replace('torch.', ''), device=str(device))
