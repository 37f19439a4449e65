"""Batch preparation for image classification: mmengine's stack, BGR->RGB and
normalisation, then (in training, when configured) mixup."""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from torch import Tensor

from .mixup import Mixup


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """Turn packed classification samples into a normalised float batch.

    Takes what :class:`~repvgg_seg.datasets.transforms.PackClsInputs` and the
    default collate give (``inputs``: list of uint8 ``(C, H, W)`` tensors in
    loading order, BGR with mmcv's loader; ``data_samples`` carrying
    ``gt_label``). mmengine's :class:`~mmengine.model.ImgDataPreprocessor`
    moves them to the model's device, flips the channels to RGB (``to_rgb``),
    casts to float, normalises with ``(x - mean) / std`` and stacks them. This
    class checks the batch first, so that a wrong one fails with a message
    rather than being padded or broadcast.

    In training, with ``mixup`` set, the batch then goes through
    :class:`~repvgg_seg.models.classifiers.mixup.Mixup`: the images are mixed
    and every data sample gets the mixed soft target as ``gt_score``
    (``(num_classes,)``, sums to 1), which the loss prefers to ``gt_label``.
    Mixup draws from torch's global RNG, so a seed makes it repeatable.
    Label smoothing is the loss's job (it is linear, so smoothing mixed
    targets equals mixing smoothed ones).

    Args:
        mean (Sequence[float], optional): Per-channel mean (1 or 3 values), in
            the channel order after ``to_rgb``. None skips normalisation.
        std (Sequence[float], optional): Per-channel std; given with ``mean``.
        to_rgb (bool): Reverse the channel order (BGR->RGB). Default:
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
        if (mean is None) != (std is None):
            raise ValueError('give mean and std together, or neither')
        if mean is not None:
            if len(mean) != len(std):
                raise ValueError(f'mean {mean} and std {std} differ in length')
            if len(mean) not in (1, 3):
                raise ValueError(f'mean and std need 1 (grey) or 3 (colour) '
                                 f'values, got {len(mean)}')
            # Python floats, so that integer statistics still give float32
            # buffers (mmengine keeps whatever dtype torch.tensor infers).
            mean = [float(m) for m in mean]
            std = [float(s) for s in std]
        super().__init__(mean=mean, std=std, bgr_to_rgb=to_rgb,
                         non_blocking=non_blocking)
        self.to_rgb = to_rgb
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
        self._check_inputs(data['inputs'])
        data = super().forward(data, training)
        if training and self.mixup is not None:
            data['inputs'] = self._mixup(data['inputs'], data['data_samples'])
        return data

    def _check_inputs(self, inputs: Union[Tensor, Sequence[Tensor]]) -> None:
        """Raise on a batch that mmengine would pad, broadcast or assert on."""
        if isinstance(inputs, Tensor):
            if inputs.dim() != 4:
                raise ValueError(f'a batch tensor must be (B, C, H, W), got '
                                 f'shape {tuple(inputs.shape)}')
            channels = inputs.shape[1]
        else:
            if not inputs:
                raise ValueError('got an empty batch')
            shapes = {tuple(img.shape) for img in inputs}
            if len(shapes) > 1:
                # Classification crops have one size; padding them to a common
                # size, as mmengine would, only hides a pipeline without a
                # crop.
                raise ValueError(
                    f'images of one batch differ in shape: {sorted(shapes)}; '
                    'end the pipeline with a fixed-size crop '
                    '(RandomResizedCrop / CenterCrop)')
            shape = shapes.pop()
            if len(shape) != 3:
                raise ValueError(
                    f'images must be (C, H, W), got shape {shape}')
            channels = shape[0]
        if self.to_rgb and channels != 3:
            # mmengine would leave such images as they are without a word.
            raise ValueError(f'to_rgb needs 3-channel images, got {channels} '
                             'channels')
        if self._enable_normalize and channels != self.mean.shape[0]:
            raise ValueError(
                f'mean/std have {self.mean.shape[0]} values but the images '
                f'have {channels} channels')

    def _mixup(self, inputs: Tensor,
               data_samples: Optional[List[BaseDataElement]]) -> Tensor:
        """Mix the batch; each sample's soft target goes to ``gt_score``."""
        if not data_samples or any('gt_label' not in s for s in data_samples):
            raise ValueError('mixup needs a gt_label in every data sample')
        labels = torch.cat([s.gt_label for s in data_samples])
        mixed, targets = self.mixup(inputs, labels)
        for sample, target in zip(data_samples, targets):
            sample.gt_score = target
        return mixed
