"""Batch-level augmentation for classification: Mixup and soft targets.

These run on collated, already float batches inside the classifier's data
preprocessor, not per sample, so they live with the model (``models`` does
not import ``datasets``) and are plain callables rather than registered
transforms.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F


def check_labels(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Validate integer class labels and return them as an int64 ``(B,)``.

    Args:
        labels (torch.Tensor): Integer labels ``(B,)``; a ``(B, 1)`` column
            is flattened.
        num_classes (int): Number of classes; labels must be in
            ``[0, num_classes)``.

    Returns:
        torch.Tensor: The labels, flattened, as int64.

    Raises:
        TypeError: For floating or boolean labels.
        ValueError: For another shape or a label out of range.
    """
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise TypeError(
            f'labels must be an integer tensor, got {labels.dtype}')
    if labels.dim() == 2 and labels.shape[1] == 1:
        labels = labels.reshape(-1)
    if labels.dim() != 1:
        raise ValueError(f'labels must have shape (B,), got '
                         f'{tuple(labels.shape)}')
    # Checked here because torch would index out of range instead: a device
    # assert on CUDA, a bare IndexError on the CPU.
    if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f'labels must be in [0, {num_classes}), got range '
                         f'[{int(labels.min())}, {int(labels.max())}]')
    return labels.long()


def one_hot(labels: torch.Tensor,
            num_classes: int,
            label_smoothing: float = 0.0,
            dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Soft targets ``(1 - eps) * onehot(labels) + eps / num_classes``.

    Args:
        labels (torch.Tensor): Integer labels of shape ``(B,)`` (a ``(B, 1)``
            column is flattened).
        num_classes (int): Number of classes.
        label_smoothing (float): ``eps`` in [0, 1). Default: 0.
        dtype (torch.dtype): Output dtype. Default: float32.

    Returns:
        torch.Tensor: ``(B, num_classes)`` rows that each sum to 1.
    """
    labels = check_labels(labels, num_classes)
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f'label_smoothing must be in [0, 1), got '
                         f'{label_smoothing}')
    off = label_smoothing / num_classes
    hot = F.one_hot(labels, num_classes).bool()
    # Picking one of two values, each rounded once to ``dtype``, gives the
    # nearest ``dtype`` numbers; ``(1 - eps) * onehot + eps / K`` in ``dtype``
    # would round twice and could be an ulp off.
    on_value = torch.tensor(1.0 - label_smoothing + off, dtype=dtype,
                            device=labels.device)
    off_value = torch.tensor(off, dtype=dtype, device=labels.device)
    return torch.where(hot, on_value, off_value)


class Mixup:
    """Mixup (Zhang et al., ICLR 2018) on a batch.

    ``lam ~ Beta(alpha, alpha)`` and a random permutation ``perm`` of the
    batch are drawn, then::

        inputs  = lam * inputs + (1 - lam) * inputs[perm]
        targets = lam * onehot(labels) + (1 - lam) * onehot(labels)[perm]

    Randomness comes from torch's global RNG (``torch.manual_seed`` /
    ``mmengine.runner.set_random_seed`` make it reproducible); ``lam`` is
    drawn before ``perm``.

    Args:
        alpha (float): Beta concentration, > 0. Default: 0.2.
        num_classes (int): Width of the soft targets. Default: 1000.
        label_smoothing (float): Smoothing of the one-hot targets before
            mixing. Default: 0.

    Example:
        >>> mixup = Mixup(alpha=0.2, num_classes=10)
        >>> x, y = torch.rand(8, 3, 32, 32), torch.randint(0, 10, (8,))
        >>> mixed, soft = mixup(x, y)   # (8, 3, 32, 32), (8, 10)
    """

    def __init__(self,
                 alpha: float = 0.2,
                 num_classes: int = 1000,
                 label_smoothing: float = 0.0) -> None:
        if alpha <= 0:
            raise ValueError(f'alpha must be > 0, got {alpha}')
        if num_classes < 1:
            raise ValueError(f'num_classes must be >= 1, got {num_classes}')
        self.alpha = float(alpha)
        self.num_classes = int(num_classes)
        self.label_smoothing = float(label_smoothing)
        self._beta = torch.distributions.Beta(
            torch.tensor(self.alpha), torch.tensor(self.alpha))

    def sample_params(self,
                      batch_size: int,
                      device: Optional[torch.device] = None
                      ) -> Tuple[float, torch.Tensor]:
        """Draw ``(lam, perm)`` exactly as :meth:`__call__` does.

        Args:
            batch_size (int): Batch size.
            device (torch.device, optional): Device of ``perm``.

        Returns:
            tuple[float, torch.Tensor]: The mixing weight and permutation.
        """
        lam = float(self._beta.sample())
        # The permutation is drawn on the CPU so that the same seed gives the
        # same permutation whatever device the batch lives on.
        perm = torch.randperm(batch_size)
        return lam, perm.to(device) if device is not None else perm

    def mix(self, inputs: torch.Tensor, targets: torch.Tensor, lam: float,
            perm: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch with given parameters (no randomness).

        Args:
            inputs (torch.Tensor): Float batch ``(B, ...)``.
            targets (torch.Tensor): Soft targets ``(B, num_classes)``.
            lam (float): Weight of the unpermuted batch.
            perm (torch.Tensor): Permutation of ``range(B)``.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: Mixed inputs and targets.
        """
        mixed = lam * inputs + (1 - lam) * inputs[perm]
        mixed_targets = lam * targets + (1 - lam) * targets[perm]
        return mixed, mixed_targets

    def __call__(self, inputs: torch.Tensor,
                 labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mix a batch.

        Args:
            inputs (torch.Tensor): Float batch ``(B, C, H, W)`` (any ``(B,
                ...)`` works). Integer inputs are refused: mixing them would
                truncate.
            labels (torch.Tensor): Integer labels ``(B,)``, or soft targets
                ``(B, num_classes)`` already (e.g. smoothed), used as given.

        Returns:
            tuple[torch.Tensor, torch.Tensor]: Mixed inputs (same shape and
            dtype) and soft targets ``(B, num_classes)`` in the inputs' dtype.
        """
        if not inputs.dtype.is_floating_point:
            raise TypeError(f'Mixup needs floating inputs, got {inputs.dtype}'
                            '; normalise / cast before mixing')
        batch_size = inputs.shape[0]
        if labels.dtype.is_floating_point:
            if tuple(labels.shape) != (batch_size, self.num_classes):
                raise ValueError(
                    f'soft labels must have shape ({batch_size}, '
                    f'{self.num_classes}), got {tuple(labels.shape)}')
            targets = labels.to(inputs.dtype)
        else:
            if labels.reshape(-1).shape[0] != batch_size:
                raise ValueError(f'got {labels.numel()} labels for a batch of '
                                 f'{batch_size}')
            targets = one_hot(labels, self.num_classes, self.label_smoothing,
                              inputs.dtype)
        lam, perm = self.sample_params(batch_size, inputs.device)
        return self.mix(inputs, targets, lam, perm)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(alpha={self.alpha}, '
                f'num_classes={self.num_classes}, '
                f'label_smoothing={self.label_smoothing})')
