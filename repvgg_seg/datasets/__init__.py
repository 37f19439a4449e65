"""Datasets, transforms and data tools (registered in MMSegmentation's registries)."""
from .batch_augments import Mixup, one_hot
from .imagenet import ImageNetDataset
from .transforms import (AutoAugment, PackClsInputs, RandomResizedCrop,
                         ResizeEdge)

__all__ = [
    'AutoAugment', 'ImageNetDataset', 'Mixup', 'PackClsInputs',
    'RandomResizedCrop', 'ResizeEdge', 'one_hot'
]
