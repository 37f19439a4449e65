"""Adaptive average pooling that ONNX can express at any input size.

ONNX has no adaptive pooling. The TorchScript exporter writes
``AdaptiveAvgPool2d(b)`` as a fixed ``AveragePool`` and refuses sizes that
``b`` does not divide: pyramid pooling's bins 3 and 6 at a full 1024x2048
Cityscapes frame (128x256 features at stride 8) or at the toy set's 160x320.

PyTorch's bin ``i`` of ``b`` over ``n`` inputs covers
``[floor(i * n / b), ceil((i + 1) * n / b))``. The mean of exactly that region,
taken first over rows and then over columns (a rectangle's mean is the mean
of its row means), is the same number; written with slices and ``ReduceMean``
it exports at any fixed size, and an INT8 quantizer leaves it in float
(averaging weights written as a matrix would be rounded to 8 bits).
"""
import contextlib
from typing import Iterator, List, Optional, Sequence, Tuple

import torch
from torch import Tensor, nn


def adaptive_bins(size: int, bins: int) -> List[Tuple[int, int]]:
    """``[start, end)`` of each adaptive-pooling bin over ``size`` inputs."""
    # Only non-negative operands: the exporter may trace this arithmetic into
    # ONNX, whose integer division truncates where Python's floors.
    return [((i * size) // bins, ((i + 1) * size + bins - 1) // bins)
            for i in range(bins)]


def _pool_axis(x: Tensor, dim: int, bins: Optional[int]) -> Tensor:
    dim = dim % x.dim()
    size = x.shape[dim]
    if bins is None:
        return x
    # While tracing, a branch on the size would be frozen into the graph;
    # the general path keeps it valid for every input size.
    if size % bins == 0 and not torch.jit.is_tracing():
        # Equal bins: one reshape and one mean (what AveragePool would do).
        shape = list(x.shape)
        shape[dim:dim + 1] = [bins, size // bins]
        return x.reshape(shape).mean(dim + 1)
    parts = [x.narrow(dim, start, end - start).mean(dim, keepdim=True)
             for start, end in adaptive_bins(size, bins)]
    return torch.cat(parts, dim)


class ExactAdaptiveAvgPool2d(nn.Module):
    """``nn.AdaptiveAvgPool2d`` as slices and means (same output, exportable).

    Args:
        output_size (int | tuple): Bins per axis, as for
            ``nn.AdaptiveAvgPool2d`` (``None`` keeps that axis).
    """

    def __init__(self, output_size) -> None:
        super().__init__()
        if isinstance(output_size, int) or output_size is None:
            output_size = (output_size, output_size)
        self.output_size: Sequence[Optional[int]] = tuple(output_size)

    def forward(self, x: Tensor) -> Tensor:
        bins_h, bins_w = self.output_size
        return _pool_axis(_pool_axis(x, -2, bins_h), -1, bins_w)

    def extra_repr(self) -> str:
        return f'output_size={self.output_size}'


@contextlib.contextmanager
def exportable_pooling(model: nn.Module) -> Iterator[int]:
    """Swap every ``nn.AdaptiveAvgPool2d`` for :class:`ExactAdaptiveAvgPool2d`
    while the block runs (the model is restored afterwards).

    Yields:
        int: How many pooling layers were swapped.
    """
    swapped = []
    for parent in model.modules():
        for name, child in parent.named_children():
            if type(child) is nn.AdaptiveAvgPool2d:
                swapped.append((parent, name, child))
    for parent, name, child in swapped:
        setattr(parent, name, ExactAdaptiveAvgPool2d(child.output_size))
    try:
        yield len(swapped)
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)
