"""Synthetic toy datasets for running the whole pipeline on a CPU in minutes.

These are data generators for tools and tests, not part of the runtime data
path: :mod:`repvgg_seg.datasets` does not import them.

* :mod:`.street_geometry`: what a street scene contains (labelled polygons).
* :mod:`.street_painting`: painting those polygons into an image and a
  trainId label map.
* :mod:`.cityscapes_layout`: writing scenes as a Cityscapes-layout dataset
  (folders, file names, ``gtFine`` polygon JSON).
* :mod:`.imagefolder`: a toy ImageNet-style image-folder dataset.
"""
from .cityscapes_layout import generate_toy_cityscapes
from .imagefolder import generate_toy_imagefolder

__all__ = ['generate_toy_cityscapes', 'generate_toy_imagefolder']
