"""ImageNet classifiers built on the RepVGG backbone.

Importing this package registers ``ImageClassifier``, ``LinearClsHead``,
``ClsDataPreprocessor`` and ``LabelSmoothCrossEntropyLoss`` in
MMSegmentation's ``MODELS`` registry.
"""
from .cls_head import LinearClsHead
from .data_preprocessor import ClsDataPreprocessor
from .image_classifier import ImageClassifier
from .losses import LabelSmoothCrossEntropyLoss

__all__ = [
    'ClsDataPreprocessor', 'ImageClassifier', 'LabelSmoothCrossEntropyLoss',
    'LinearClsHead'
]
