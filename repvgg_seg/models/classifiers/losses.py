"""Cross-entropy with label smoothing that also takes soft (mixup) targets."""
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn

from .mixup import check_labels


@MODELS.register_module()
class LabelSmoothCrossEntropyLoss(nn.Module):
    """``-sum_k q_k log softmax(logits)_k``, averaged over the batch.

    The target distribution ``q`` is ``(1 - eps) * t + eps / K`` where ``t``
    is the one-hot vector of an integer label, or a soft target row (e.g. from
    mixup) as given. This is ``F.cross_entropy(logits, target,
    label_smoothing=eps)`` for both kinds of target: torch smooths
    probability targets the same way. Smoothing is linear in ``t``, so
    smoothing a mixup of one-hot targets equals mixing the smoothed targets:
    mixup can run before the loss without knowing about smoothing.

    Args:
        label_smoothing (float): ``eps`` in [0, 1). Default: 0 (plain
            cross-entropy).
        loss_weight (float): Factor on the loss. Default: 1.
    """

    def __init__(self, label_smoothing: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got '
                             f'{label_smoothing}')
        self.label_smoothing = float(label_smoothing)
        self.loss_weight = float(loss_weight)

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean loss over the batch.

        Args:
            logits (Tensor): ``(B, K)`` unnormalised scores.
            target (Tensor): Integer labels ``(B,)`` (or a ``(B, 1)``
                column) or soft targets ``(B, K)`` whose rows sum to 1.

        Returns:
            Tensor: Scalar loss, in float32 at least.
        """
        if logits.dim() != 2:
            raise ValueError(f'logits must have shape (B, K), got '
                             f'{tuple(logits.shape)}')
        if target.shape[0] != logits.shape[0]:
            raise ValueError(f'{target.shape[0]} targets for a batch of '
                             f'{logits.shape[0]}')
        num_classes = logits.shape[1]
        target = target.to(logits.device)
        if target.dtype.is_floating_point:
            if target.dim() != 2 or target.shape[1] != num_classes:
                raise ValueError(f'soft targets must have shape '
                                 f'(B, {num_classes}), got '
                                 f'{tuple(target.shape)}')
            # F.cross_entropy wants probability targets in the logits' dtype.
            target = target.float()
        else:
            target = check_labels(target, num_classes)
        # float32 at least: under AMP the logits may be half, and a half
        # log-softmax loses the small probabilities smoothing relies on.
        loss = F.cross_entropy(logits.float(), target,
                               label_smoothing=self.label_smoothing)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'label_smoothing={self.label_smoothing}, '
                f'loss_weight={self.loss_weight}')
