"""Classification data transforms, registered in MMSegmentation's TRANSFORMS.

Importing this package registers ``RandomResizedCrop``, ``ResizeEdge``,
``PackClsInputs`` and ``AutoAugment``.
"""
from .auto_augment import AutoAugment, apply_op
from .classification import PackClsInputs, RandomResizedCrop, ResizeEdge

__all__ = [
    'AutoAugment', 'apply_op', 'PackClsInputs', 'RandomResizedCrop',
    'ResizeEdge'
]
