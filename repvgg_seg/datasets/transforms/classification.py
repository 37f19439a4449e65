"""Image-classification transforms that mmcv 2.1 does not ship.

mmcv already provides ``LoadImageFromFile``, ``RandomFlip``, ``Resize``,
``CenterCrop`` and ``Normalize``; MMSegmentation re-registers ``RandomFlip``
and ``Resize`` under its own scope, and both versions work on classification
samples unchanged. So a typical ImageNet pipeline, written under
``default_scope='mmseg'``, is::

    train_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=224),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='AutoAugment', policies='imagenet'),   # optional
        dict(type='PackClsInputs'),
    ]
    test_pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='ResizeEdge', scale=256, edge='short'),
        dict(type='CenterCrop', crop_size=224),
        dict(type='PackClsInputs'),
    ]

Normalisation and BGR->RGB are left to the model's data preprocessor, as in
the OpenMMLab 2.x codebases, so the packed inputs stay uint8.

``ResizeEdge`` exists because neither resize in reach pins the short edge
exactly: mmcv's ``Resize(keep_ratio=True)`` needs a (long, short) bound pair
and rounds through a common scale factor, and MMSegmentation's
``ResizeShortestEdge`` needs a ``max_size``.
"""
import math
from typing import Dict, Sequence, Tuple, Union

import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmengine.structures import BaseDataElement
from mmseg.registry import TRANSFORMS

_INTERPOLATIONS = ('nearest', 'bilinear', 'bicubic', 'area', 'lanczos')


def _check_interpolation(interpolation: str, backend: str) -> None:
    if backend not in ('cv2', 'pillow'):
        raise ValueError(f"backend must be 'cv2' or 'pillow', got {backend!r}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of {_INTERPOLATIONS}, '
                         f'got {interpolation!r}')


def _to_wh(scale: Union[int, Sequence[int]]) -> Tuple[int, int]:
    """Turn an int or an mmcv-style ``(w, h)`` pair into a checked pair."""
    if isinstance(scale, int):
        scale = (scale, scale)
    if len(scale) != 2 or any(int(s) != s or s <= 0 for s in scale):
        raise ValueError(f'scale must be a positive int or (w, h) pair, got '
                         f'{scale!r}')
    return int(scale[0]), int(scale[1])


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area / aspect-ratio patch and resize it (Inception crop).

    Up to ``max_attempts`` times, an area fraction is drawn uniformly from
    ``crop_ratio_range`` and an aspect ratio (w / h) log-uniformly from
    ``aspect_ratio_range``; the first box that fits inside the image is taken
    at a uniformly random position. If none fits, the largest centred box
    whose aspect ratio lies in ``aspect_ratio_range`` is used instead.

    Required Keys:

    - img

    Modified Keys:

    - img
    - img_shape

    Added Keys:

    - crop_bbox (np.ndarray ``[x1, y1, x2, y2]``, exclusive end, in the
      coordinates of the input image)

    Args:
        scale (int | Sequence[int]): Output size, an int or ``(w, h)`` as in
            mmcv. Default: 224.
        crop_ratio_range (Sequence[float]): Range of the crop area as a
            fraction of the image area. Default: (0.08, 1.0).
        aspect_ratio_range (Sequence[float]): Range of the crop's width /
            height. Default: (3/4, 4/3).
        max_attempts (int): Random boxes tried before the centre fallback.
            Default: 10.
        interpolation (str): 'nearest', 'bilinear', 'bicubic', 'area' or
            'lanczos'. Default: 'bilinear'.
        backend (str): Resize backend of :func:`mmcv.imresize`, 'cv2' or
            'pillow'. Default: 'cv2'.
    """

    def __init__(self,
                 scale: Union[int, Sequence[int]] = 224,
                 crop_ratio_range: Sequence[float] = (0.08, 1.0),
                 aspect_ratio_range: Sequence[float] = (3. / 4., 4. / 3.),
                 max_attempts: int = 10,
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        super().__init__()
        self.scale = _to_wh(scale)
        lo, hi = crop_ratio_range
        if not 0 < lo <= hi <= 1:
            raise ValueError('crop_ratio_range must satisfy 0 < min <= max '
                             f'<= 1, got {crop_ratio_range!r}')
        r_lo, r_hi = aspect_ratio_range
        if not 0 < r_lo <= r_hi:
            raise ValueError('aspect_ratio_range must satisfy 0 < min <= '
                             f'max, got {aspect_ratio_range!r}')
        if max_attempts < 0:
            raise ValueError(f'max_attempts must be >= 0, got {max_attempts}')
        _check_interpolation(interpolation, backend)
        self.crop_ratio_range = (float(lo), float(hi))
        self.aspect_ratio_range = (float(r_lo), float(r_hi))
        self.max_attempts = int(max_attempts)
        self.interpolation = interpolation
        self.backend = backend

    @cache_randomness
    def _sample_box(self, height: int, width: int) -> Tuple[int, int, int,
                                                             int]:
        """``(x, y, w, h)`` of a random crop box for an image of this size."""
        area = height * width
        log_lo, log_hi = (math.log(r) for r in self.aspect_ratio_range)
        for _ in range(self.max_attempts):
            target_area = area * np.random.uniform(*self.crop_ratio_range)
            aspect = math.exp(np.random.uniform(log_lo, log_hi))
            w = int(round(math.sqrt(target_area * aspect)))
            h = int(round(math.sqrt(target_area / aspect)))
            if 0 < w <= width and 0 < h <= height:
                y = np.random.randint(0, height - h + 1)
                x = np.random.randint(0, width - w + 1)
                return int(x), int(y), w, h
        return self._center_box(height, width)

    def _center_box(self, height: int, width: int) -> Tuple[int, int, int,
                                                             int]:
        """Largest centred box whose aspect ratio is inside the range."""
        r_lo, r_hi = self.aspect_ratio_range
        ratio = width / height
        if ratio < r_lo:
            w, h = width, min(height, int(round(width / r_lo)))
        elif ratio > r_hi:
            w, h = min(width, int(round(height * r_hi))), height
        else:
            w, h = width, height
        return (width - w) // 2, (height - h) // 2, w, h

    def transform(self, results: dict) -> dict:
        """Crop and resize ``results['img']``.

        Args:
            results (dict): Must hold ``img``.

        Returns:
            dict: The same dict with the resized crop as ``img``.
        """
        img = results['img']
        height, width = img.shape[:2]
        x, y, w, h = self._sample_box(height, width)
        crop = img[y:y + h, x:x + w]
        results['img'] = mmcv.imresize(
            crop,
            self.scale,
            interpolation=self.interpolation,
            backend=self.backend)
        results['img_shape'] = results['img'].shape[:2]
        results['crop_bbox'] = np.array([x, y, x + w, y + h])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'crop_ratio_range={self.crop_ratio_range}, '
                f'aspect_ratio_range={self.aspect_ratio_range}, '
                f'max_attempts={self.max_attempts}, '
                f'interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class ResizeEdge(BaseTransform):
    """Resize so that one edge has exactly ``scale`` pixels, keeping aspect.

    The other edge is ``round(other * scale / edge_length)`` (at least 1).
    Pair with mmcv's ``CenterCrop(crop_size=224)`` after
    ``ResizeEdge(scale=256)`` for the usual ImageNet evaluation.

    Required Keys:

    - img

    Modified Keys:

    - img
    - img_shape

    Added Keys:

    - scale (``(w, h)`` after resizing)
    - scale_factor (``(w_ratio, h_ratio)``)

    Args:
        scale (int): Target length of the chosen edge. Default: 256.
        edge (str): 'short', 'long', 'width' or 'height'. Default:
            'short'.
        interpolation (str): 'nearest', 'bilinear', 'bicubic', 'area' or
            'lanczos'. Default: 'bilinear'.
        backend (str): Resize backend of :func:`mmcv.imresize`, 'cv2' or
            'pillow'. Default: 'cv2'.
    """

    EDGES = ('short', 'long', 'width', 'height')

    def __init__(self,
                 scale: int = 256,
                 edge: str = 'short',
                 interpolation: str = 'bilinear',
                 backend: str = 'cv2') -> None:
        super().__init__()
        if not isinstance(scale, int) or scale <= 0:
            raise ValueError(f'scale must be a positive int, got {scale!r}')
        if edge not in self.EDGES:
            raise ValueError(f'edge must be one of {self.EDGES}, got {edge!r}')
        _check_interpolation(interpolation, backend)
        self.scale = scale
        self.edge = edge
        self.interpolation = interpolation
        self.backend = backend

    def _target_size(self, height: int, width: int) -> Tuple[int, int]:
        """Output ``(w, h)`` for an input of the given size."""
        edge = self.edge
        if edge == 'short':
            edge = 'width' if width <= height else 'height'
        elif edge == 'long':
            edge = 'width' if width > height else 'height'
        if edge == 'width':
            return self.scale, max(1, int(height * self.scale / width + 0.5))
        return max(1, int(width * self.scale / height + 0.5)), self.scale

    def transform(self, results: dict) -> dict:
        """Resize ``results['img']``.

        Args:
            results (dict): Must hold ``img``.

        Returns:
            dict: The same dict with the resized ``img``.
        """
        img = results['img']
        height, width = img.shape[:2]
        new_w, new_h = self._target_size(height, width)
        if (new_w, new_h) != (width, height):
            img = mmcv.imresize(
                img, (new_w, new_h),
                interpolation=self.interpolation,
                backend=self.backend)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['scale'] = (new_w, new_h)
        results['scale_factor'] = (new_w / width, new_h / height)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(scale={self.scale}, '
                f'edge={self.edge!r}, interpolation={self.interpolation!r}, '
                f'backend={self.backend!r})')


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """Pack a classification sample for the model.

    Output format (the contract with the classifier and its preprocessor):

    - ``inputs``: ``torch.uint8`` tensor of shape ``(C, H, W)`` (a grayscale
      ``(H, W)`` image becomes ``(1, H, W)``), channel order unchanged from
      loading (BGR with mmcv's default ``LoadImageFromFile``), not
      normalised.
    - ``data_samples``: :class:`mmengine.structures.BaseDataElement` with

      - data field ``gt_label``: ``torch.int64`` tensor of shape ``(1,)``,
        present only when ``results`` has ``gt_label`` (so unlabeled test
        images pack fine); a batch's labels are
        ``torch.cat([s.gt_label for s in data_samples])``.
      - metainfo: every key of ``meta_keys`` present in ``results``; with the
        defaults that is ``img_path``, ``ori_shape``, ``img_shape`` (both
        ``(h, w)``), ``sample_idx`` and, after ``RandomFlip`` /
        ``ResizeEdge``, ``flip``, ``flip_direction``, ``scale_factor``.

    Args:
        meta_keys (Sequence[str]): Keys copied into the data sample's
            metainfo when present.
    """

    DEFAULT_META_KEYS = ('sample_idx', 'img_path', 'ori_shape', 'img_shape',
                         'scale_factor', 'flip', 'flip_direction')

    def __init__(self, meta_keys: Sequence[str] = DEFAULT_META_KEYS) -> None:
        super().__init__()
        self.meta_keys = tuple(meta_keys)

    @staticmethod
    def _image_to_tensor(img: np.ndarray) -> torch.Tensor:
        if img.ndim == 2:
            img = img[:, :, None]
        # A copy in CHW order: flips and crops leave negative or non-unit
        # strides that torch.from_numpy cannot take, and the collated batch
        # must not alias the transform's buffers.
        return torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))

    @staticmethod
    def _label_to_tensor(label: Union[int, np.integer, np.ndarray,
                                      torch.Tensor]) -> torch.Tensor:
        tensor = torch.as_tensor(np.asarray(label), dtype=torch.int64)
        if tensor.numel() != 1:
            raise ValueError('PackClsInputs packs one integer label per '
                             f'image, got shape {tuple(tensor.shape)}')
        return tensor.reshape(1)

    def transform(self, results: dict) -> Dict[str, object]:
        """Pack ``results`` into ``dict(inputs=..., data_samples=...)``.

        Args:
            results (dict): Must hold ``img``; ``gt_label`` is optional.

        Returns:
            dict: ``inputs`` tensor and ``data_samples`` element.
        """
        if 'img' not in results:
            raise KeyError('PackClsInputs needs an "img" in the results; was '
                           'an image loaded?')
        metainfo = {k: results[k] for k in self.meta_keys if k in results}
        data_sample = BaseDataElement(metainfo=metainfo)
        if results.get('gt_label') is not None:
            data_sample.gt_label = self._label_to_tensor(results['gt_label'])
        return dict(
            inputs=self._image_to_tensor(results['img']),
            data_samples=data_sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
