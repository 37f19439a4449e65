"""Global-average-pooling + linear classification head."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from torch import Tensor, nn


@MODELS.register_module()
class LinearClsHead(BaseModule):
    """``fc(GAP(x))`` on the last backbone feature map, as in RepVGG.

    The linear layer is named ``fc`` so that a classifier's ``head.fc.*``
    tensors match the checkpoints written by ``tools/convert_checkpoint.py``.

    Args:
        num_classes (int): Number of classes.
        in_channels (int): Channels of the feature map (the backbone's last
            stage width).
        loss (dict): Loss config; it is called with ``(logits, target)``
            where the target is integer labels ``(B,)`` or soft targets
            ``(B, num_classes)``. Default: plain cross-entropy.
        init_cfg (dict | list[dict], optional): mmengine init config.
            Default: None: PyTorch's default ``nn.Linear`` init.
    """

    def __init__(self,
                 num_classes: int,
                 in_channels: int,
                 loss: Dict = dict(type='LabelSmoothCrossEntropyLoss',
                                   label_smoothing=0.0),
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'num_classes and in_channels must be positive, '
                             f'got {num_classes} and {in_channels}')
        self.num_classes = num_classes
        self.in_channels = in_channels
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(in_channels, num_classes)
        self.loss_module = MODELS.build(loss)

    def forward(self, feats: Union[Tensor, Sequence[Tensor]]) -> Tensor:
        """Logits ``(B, num_classes)`` from the last of ``feats``.

        Args:
            feats (Tensor | Sequence[Tensor]): A ``(B, C, H, W)`` map or the
                backbone's tuple of them.

        Returns:
            Tensor: Logits.
        """
        x = feats if isinstance(feats, Tensor) else feats[-1]
        return self.fc(torch.flatten(self.gap(x), 1))

    def loss(self, feats: Union[Tensor, Sequence[Tensor]],
             data_samples: Sequence[BaseDataElement]) -> Dict[str, Tensor]:
        """Loss against ``gt_score`` (soft, e.g. after mixup) when every sample
        has one, else against ``gt_label``.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone features.
            data_samples (Sequence[BaseDataElement]): With ``gt_label`` or
                ``gt_score``.

        Returns:
            dict[str, Tensor]: ``loss``.
        """
        logits = self(feats)
        if data_samples and all('gt_score' in s for s in data_samples):
            target = torch.stack([s.gt_score for s in data_samples])
        elif data_samples and all('gt_label' in s for s in data_samples):
            target = torch.cat([s.gt_label for s in data_samples])
        else:
            raise ValueError('every data sample needs a gt_label (or gt_score) '
                             'to compute the loss')
        return dict(loss=self.loss_module(logits, target.to(logits.device)))

    def predict(self,
                feats: Union[Tensor, Sequence[Tensor]],
                data_samples: Optional[Sequence[BaseDataElement]] = None
                ) -> List[BaseDataElement]:
        """Class probabilities and the arg-max class per image.

        Args:
            feats (Tensor | Sequence[Tensor]): Backbone features.
            data_samples (Sequence[BaseDataElement], optional): The batch's
                samples, updated in place; new ones are made when None.

        Returns:
            list[BaseDataElement]: Each with ``pred_score`` (softmax,
            ``(num_classes,)``) and ``pred_label`` (int64 ``(1,)``), plus
            whatever the input samples held (``gt_label``, metainfo).
        """
        return self.predict_by_logits(self(feats), data_samples)

    @staticmethod
    def predict_by_logits(
            logits: Tensor,
            data_samples: Optional[Sequence[BaseDataElement]] = None
    ) -> List[BaseDataElement]:
        """Wrap logits ``(B, K)`` into data samples (see :meth:`predict`)."""
        scores = F.softmax(logits.float(), dim=1).detach()
        labels = scores.argmax(dim=1, keepdim=True)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(len(logits))]
        elif len(data_samples) != len(logits):
            raise ValueError(f'{len(data_samples)} data samples for '
                             f'{len(logits)} images')
        for sample, score, label in zip(data_samples, scores, labels):
            sample.pred_score = score
            sample.pred_label = label
        return list(data_samples)
