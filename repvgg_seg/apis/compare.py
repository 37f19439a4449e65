"""Comparing a model's logits with a reference: the one error measure.

Every path that claims to compute the same thing as the float32 PyTorch model
(re-parameterization, fast modes, ONNX, INT8) is checked with
:func:`check_output`, so all reports speak of the same numbers.
"""
from dataclasses import dataclass

import torch
from torch import Tensor

# Relative max error allowed per arithmetic. fp32 paths differ from the
# reference only in summation order; reduced-precision paths lose mantissa
# bits in every layer (TF32 and fp16 keep 10, bf16 7), and the loss adds up
# through 30-odd layers. A broken kernel or layout gives errors of order 1.
# INT8 is judged by class agreement, not by a tolerance (see quantize).
TOLERANCES = {'fp32': 1e-4, 'tf32': 1e-2, 'fp16': 1e-2, 'bf16': 5e-2}


@dataclass
class ErrorCheck:
    """Logits against the fp32 reference.

    Attributes:
        rel_max_err (float): ``max|out - ref| / max|ref|`` (inf if the output
            has NaN/inf or the wrong shape).
        tolerance (float): The largest acceptable ``rel_max_err``.
        agreement (float): Fraction of pixels whose arg-max class matches
            the reference.
        min_agreement (float): The smallest acceptable ``agreement`` (INT8
            is judged by it, with no error tolerance). Default: 0.0.
    """

    rel_max_err: float
    tolerance: float
    agreement: float
    min_agreement: float = 0.0

    @property
    def ok(self) -> bool:
        return (self.rel_max_err <= self.tolerance
                and self.agreement >= self.min_agreement)

    def __str__(self) -> str:
        verdict = 'ok' if self.ok else 'WRONG'
        needed = (f' (at least {self.min_agreement:.0%} needed)'
                  if self.min_agreement else '')
        return (f'relative max error {self.rel_max_err:.2e} (tolerance '
                f'{self.tolerance:.0e}), same class at '
                f'{self.agreement * 100:.2f}% of pixels{needed}: {verdict}')


def relative_max_error(output: Tensor, reference: Tensor) -> float:
    """``max|output - reference| / max|reference|`` in float32 (inf when the
    shapes differ or the output is not finite)."""
    if output.shape != reference.shape:
        return float('inf')
    out, ref = output.detach().float(), reference.detach().float().to(output.device)
    if not torch.isfinite(out).all():
        return float('inf')
    scale = ref.abs().max().clamp_min(torch.finfo(torch.float32).tiny)
    return ((out - ref).abs().max() / scale).item()


def check_output(output: Tensor, reference: Tensor, tolerance: float,
                 min_agreement: float = 0.0) -> ErrorCheck:
    """Compare logits ``(N, classes, H, W)`` with the reference.

    Args:
        output (Tensor): The path's logits.
        reference (Tensor): The fp32 deployed model's logits.
        tolerance (float): Largest acceptable relative max error.
        min_agreement (float): Smallest acceptable class agreement.
            Default: 0.0.

    Returns:
        ErrorCheck: Error, tolerance and class agreement.
    """
    err = relative_max_error(output, reference)
    if output.shape == reference.shape and output.dim() >= 2:
        ref = reference.detach().to(output.device)
        agreement = (output.argmax(1) == ref.argmax(1)).float().mean().item()
    else:
        agreement = 0.0
    return ErrorCheck(rel_max_err=err, tolerance=tolerance, agreement=agreement,
                      min_agreement=min_agreement)
