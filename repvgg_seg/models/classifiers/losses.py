"""Cross-entropy with label smoothing that also takes soft (mixup) targets."""
import torch.nn.functional as F
from mmseg.registry import MODELS
from torch import Tensor, nn

from repvgg_seg.datasets.batch_augments import one_hot


@MODELS.register_module()
class LabelSmoothCrossEntropyLoss(nn.Module):
    """``-sum_k q_k log softmax(logits)_k``, averaged over the batch.

    The target distribution ``q`` is ``(1 - eps) * t + eps / K`` where ``t``
    is the one-hot vector of an integer label, or a soft target row (e.g. from
    mixup) as given. Smoothing is linear in ``t``, so smoothing a mixup of
    one-hot targets equals mixing the smoothed targets: mixup can run before
    the loss without knowing about smoothing. With integer labels this is
    ``F.cross_entropy(logits, labels, label_smoothing=eps)``.

    Args:
        label_smoothing (float): ``eps`` in [0, 1). Defaults to 0 (plain
            cross-entropy).
        loss_weight (float): Factor on the loss. Defaults to 1.
    """

    def __init__(self, label_smoothing: float = 0.0,
                 loss_weight: float = 1.0) -> None:
        super().__init__()
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f'label_smoothing must be in [0, 1), got '
                             f'{label_smoothing}')
        self.label_smoothing = float(label_smoothing)
        self.loss_weight = float(loss_weight)

    def soft_targets(self, target: Tensor, num_classes: int) -> Tensor:
        """The smoothed target distribution ``(B, num_classes)``.

        Args:
            target (Tensor): Integer labels ``(B,)`` or soft targets
                ``(B, num_classes)`` whose rows sum to 1.
            num_classes (int): Number of classes ``K``.

        Returns:
            Tensor: Rows that sum to 1, in float32 or the targets' dtype.
        """
        if not target.dtype.is_floating_point:
            return one_hot(target, num_classes, self.label_smoothing)
        if target.dim() != 2 or target.shape[1] != num_classes:
            raise ValueError(f'soft targets must have shape (B, {num_classes}), '
                             f'got {tuple(target.shape)}')
        eps = self.label_smoothing
        return target * (1.0 - eps) + eps / num_classes

    def forward(self, logits: Tensor, target: Tensor) -> Tensor:
        """Mean loss over the batch.

        Args:
            logits (Tensor): ``(B, K)`` unnormalised scores.
            target (Tensor): Integer labels ``(B,)`` or soft targets
                ``(B, K)``.

        Returns:
            Tensor: Scalar loss.
        """
        if logits.dim() != 2:
            raise ValueError(f'logits must have shape (B, K), got '
                             f'{tuple(logits.shape)}')
        if target.shape[0] != logits.shape[0]:
            raise ValueError(f'{target.shape[0]} targets for a batch of '
                             f'{logits.shape[0]}')
        q = self.soft_targets(target.to(logits.device), logits.shape[1])
        # log_softmax in float32 at least: under AMP the logits may be half.
        log_p = F.log_softmax(logits.float(), dim=1)
        loss = -(q.to(log_p.dtype) * log_p).sum(dim=1).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'label_smoothing={self.label_smoothing}, '
                f'loss_weight={self.loss_weight}')

