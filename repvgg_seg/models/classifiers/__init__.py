"""ImageNet classifiers built on the RepVGG backbone.

Importing this package registers ``ImageClassifier``, ``LinearClsHead``,
``ClsDataPreprocessor`` and ``LabelSmoothCrossEntropyLoss`` in
MMSegmentation's ``MODELS`` registry. ``Mixup`` and ``one_hot`` are the
batch-level augmentation the data preprocessor applies.
"""
from .cls_head import LinearClsHead
from .data_preprocessor import ClsDataPreprocessor
from .image_classifier import ImageClassifier
from .losses import LabelSmoothCrossEntropyLoss
from .mixup import Mixup, check_labels, one_hot

__all__ = [
    'ClsDataPreprocessor', 'ImageClassifier', 'LabelSmoothCrossEntropyLoss',
    'LinearClsHead', 'Mixup', 'check_labels', 'one_hot'
]
