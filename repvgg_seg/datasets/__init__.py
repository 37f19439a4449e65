"""Datasets, transforms and data tools (registered in MMSegmentation's registries)."""
from .imagenet import ImageNetDataset
from .transforms import (AutoAugment, PackClsInputs, RandomResizedCrop,
                         ResizeEdge)

__all__ = [
    'AutoAugment', 'ImageNetDataset', 'PackClsInputs', 'RandomResizedCrop',
    'ResizeEdge'
]
