"""Batch preparation for image classification: stack, BGR->RGB, normalise,
and (in training, when configured) mixup."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from torch import Tensor

from repvgg_seg.datasets.batch_augments import Mixup


def _stack(inputs: Union[Tensor, Sequence[Tensor]]) -> Tensor:
    """A ``(B, C, H, W)`` batch from a batch tensor or a list of images."""
    if isinstance(inputs, Tensor):
        if inputs.dim() != 4:
            raise ValueError(f'a batch tensor must be (B, C, H, W), got shape '
                             f'{tuple(inputs.shape)}')
        return inputs
    if not inputs:
        raise ValueError('got an empty batch')
    shapes = {tuple(img.shape) for img in inputs}
    if len(shapes) > 1:
        # Classification crops have one size; padding them to a common size,
        # as detection does, would only hide a pipeline without a crop.
        raise ValueError(f'images of one batch differ in shape: '
                         f'{sorted(shapes)}; end the pipeline with a '
                         'fixed-size crop (RandomResizedCrop / CenterCrop)')
    return torch.stack(list(inputs))


@MODELS.register_module()
class ClsDataPreprocessor(BaseDataPreprocessor):
    """Turn packed classification samples into a normalised float batch.

    Takes what :class:`~repvgg_seg.datasets.transforms.PackClsInputs` and the
    default collate give (``inputs``: list of uint8 ``(C, H, W)`` tensors in
    loading order, BGR with mmcv's loader; ``data_samples`` carrying
    ``gt_label``), moves them to the model's device, stacks them, flips the
    channels to RGB (``to_rgb``), casts to float and normalises with
    ``(x - mean) / std``.

    In training, with ``mixup`` set, the batch then goes through
    :class:`~repvgg_seg.datasets.batch_augments.Mixup`: the images are mixed
    and every data sample gets the mixed soft target as ``gt_score``
    (``(num_classes,)``, sums to 1), which the loss prefers to ``gt_label``.
    Mixup draws from torch's global RNG, so a seed makes it repeatable.
    Label smoothing is the loss's job (it is linear, so smoothing mixed
    targets equals mixing smoothed ones).

    Args:
        mean (Sequence[float], optional): Per-channel mean, in the channel
            order after ``to_rgb``. None skips normalisation.
        std (Sequence[float], optional): Per-channel std; given with ``mean``.
        to_rgb (bool): Reverse the channel order (BGR->RGB). Defaults to
            False.
        num_classes (int, optional): Width of the mixup targets. The
            classifier fills it in from its head when left out.
        mixup (dict, optional): ``Mixup`` arguments other than
            ``num_classes``, e.g. ``dict(alpha=0.2)``; None disables mixup.
        non_blocking (bool): Non-blocking host-to-device copies.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = None,
                 std: Optional[Sequence[float]] = None,
                 to_rgb: bool = False,
                 num_classes: Optional[int] = None,
                 mixup: Optional[dict] = None,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        if (mean is None) != (std is None):
            raise ValueError('give mean and std together, or neither')
        self.to_rgb = to_rgb
        self.normalize = mean is not None
        if self.normalize:
            if len(mean) != len(std):
                raise ValueError(f'mean {mean} and std {std} differ in length')
            # Non-persistent: the statistics are config, not checkpoint state.
            self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32)
                                 .view(1, -1, 1, 1), False)
            self.register_buffer('std', torch.tensor(std, dtype=torch.float32)
                                 .view(1, -1, 1, 1), False)
        self.num_classes = num_classes
        self.mixup: Optional[Mixup] = None
        if mixup is not None:
            mixup = dict(mixup)
            if 'label_smoothing' in mixup:
                raise ValueError(
                    'set label smoothing on the loss '
                    '(LabelSmoothCrossEntropyLoss), not on mixup: both would '
                    'smooth the targets')
            if num_classes is None:
                raise ValueError('mixup needs num_classes')
            self.mixup = Mixup(num_classes=num_classes, **mixup)

    def forward(self, data: dict, training: bool = False) -> dict:
        """Prepare one batch.

        Args:
            data (dict): ``inputs`` (list of ``(C, H, W)`` tensors, or a
                ``(B, C, H, W)`` tensor) and optional ``data_samples``.
            training (bool): Apply mixup (when configured).

        Returns:
            dict: ``inputs`` as a float ``(B, C, H, W)`` tensor on the model's
            device and ``data_samples`` (with ``gt_score`` after mixup).
        """
        data = self.cast_data(data)
        inputs = _stack(data['inputs'])
        if self.to_rgb:
            if inputs.shape[1] != 3:
                raise ValueError(f'to_rgb needs 3-channel images, got '
                                 f'{inputs.shape[1]} channels')
            inputs = inputs.flip(1)
        inputs = inputs.float()
        if self.normalize:
            if inputs.shape[1] != self.mean.shape[1]:
                raise ValueError(
                    f'mean/std have {self.mean.shape[1]} values but the images '
                    f'have {inputs.shape[1]} channels')
            inputs = (inputs - self.mean) / self.std
        data_samples = data.get('data_samples')
        if training and self.mixup is not None:
            inputs = self._mixup(inputs, data_samples)
        return dict(inputs=inputs, data_samples=data_samples)

    def _mixup(self, inputs: Tensor,
               data_samples: Optional[List[BaseDataElement]]) -> Tensor:
        if not data_samples or any('gt_label' not in s for s in data_samples):
            raise ValueError('mixup needs a gt_label in every data sample')
        labels = torch.cat([s.gt_label for s in data_samples])
        mixed, targets = self.mixup(inputs, labels)
        for sample, target in zip(data_samples, targets):
            sample.gt_score = target
        return mixed
