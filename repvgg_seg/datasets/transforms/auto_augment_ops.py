"""The image operations of AutoAugment: uint8 ``(H, W)``, ``(H, W, 1)`` or
``(H, W, 3)`` in, uint8 of the same shape out.

They are mmcv's image operations, except where a local one says why it
differs: the policies were searched with PIL, so each op stays close to PIL's.
"""
from typing import Callable, Sequence, Union

import cv2
import mmcv
import numpy as np
from mmcv.image.geometric import cv2_interp_codes

CHOICES = dict(
    interpolation=('nearest', 'bilinear', 'bicubic'),
    channel_order=('bgr', 'rgb'))
Image = np.ndarray


def check_choice(name: str, value: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``CHOICES[name]``."""
    if value not in CHOICES[name]:
        raise ValueError(f'{name} must be one of {list(CHOICES[name])}, got '
                         f'{value!r}')


def check_image(img: Image) -> None:
    """Raise unless ``img`` is a uint8 ``(H, W)``, ``(H, W, 1)`` or
    ``(H, W, 3)`` array."""
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise TypeError('AutoAugment operations expect a uint8 numpy image, '
                        f'got {type(img).__name__} '
                        f'{getattr(img, "dtype", "")}')
    if img.ndim not in (2, 3) or img.ndim == 3 and img.shape[2] not in (1, 3):
        raise ValueError('expected an (H, W), (H, W, 1) or (H, W, 3) image, '
                         f'got shape {img.shape}')


invert = mmcv.iminvert  # 255 - img
solarize = mmcv.solarize  # solarize(img, thr) inverts the pixels >= thr
posterize = mmcv.posterize  # posterize(img, bits) keeps the top bits


def geometric(img: Image, op: str, amount: float,
              fill: Union[int, Sequence[int]] = 128,
              interpolation: str = 'bilinear') -> Image:
    """Shear, translate or rotate ``img`` on a canvas of the same size.

    Args:
        img (np.ndarray): uint8 image.
        op (str): 'ShearX' / 'ShearY' (``amount`` is the factor, about the
            centre: ``x' = x + amount * (y - cy)``), 'TranslateX' /
            'TranslateY' (pixels, positive moves right / down) or 'Rotate'
            (degrees about the centre, positive is counter-clockwise).
        amount (float): Magnitude of the op; 0 is the identity.
        fill (int | Sequence[int]): Value of the pixels shifted in, one for
            all channels or one per channel. Default: 128.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.
            Default: 'bilinear'.

    Returns:
        np.ndarray: The transformed image, same shape and dtype.
    """
    check_choice('interpolation', interpolation)
    channels = 1 if img.ndim == 2 else img.shape[2]
    # A per-channel tuple, because OpenCV fills only channel 0 from an int.
    border = (int(fill), ) * channels if np.isscalar(fill) else tuple(
        int(v) for v in fill)
    if len(border) != channels:
        raise ValueError(f'fill has {len(border)} values for a {channels}-'
                         'channel image')
    h, w = img.shape[:2]
    if op == 'Rotate':
        # mmcv's positive angle is clockwise; PIL's (the paper's) is not.
        out = mmcv.imrotate(
            img, -amount, border_value=border, interpolation=interpolation)
    elif op in ('TranslateX', 'TranslateY'):
        direction = 'horizontal' if op == 'TranslateX' else 'vertical'
        out = mmcv.imtranslate(img, amount, direction, border, interpolation)
    elif op in ('ShearX', 'ShearY'):
        # Not mmcv.imshear: it shears about the top-left corner, which also
        # slides the whole content by up to 0.3 * H px.
        matrix = np.eye(2, 3)
        if op == 'ShearX':  # x' = x + amount * (y - cy)
            matrix[0, 1:] = amount, -amount * (h - 1) / 2
        else:  # y' = y + amount * (x - cx)
            matrix[1, [0, 2]] = amount, -amount * (w - 1) / 2
        out = cv2.warpAffine(
            img, matrix, (w, h), flags=cv2_interp_codes[interpolation],
            borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    else:
        raise ValueError(f'unknown geometric op {op!r}; known: ShearX, '
                         'ShearY, TranslateX, TranslateY, Rotate')
    return out.reshape(img.shape)  # OpenCV drops a trailing 1-channel axis


def _per_channel(fn: Callable[[Image], Image], img: Image) -> Image:
    planes = img.reshape(img.shape[0], img.shape[1], -1)
    return np.dstack([fn(planes[:, :, c]) for c in range(planes.shape[2])
                      ]).reshape(img.shape)


def auto_contrast(img: Image) -> Image:
    """Stretch each non-constant channel to min 0 and max 255."""

    # Not mmcv.auto_contrast: it truncates its float LUT, so ~15% of the
    # (min, max) pairs map the max to 254; this one rounds.
    def stretch(plane: Image) -> Image:
        lo, hi = int(plane.min()), int(plane.max())
        if hi == lo:
            return plane
        lut = (np.arange(256, dtype=np.float32) - lo) * (255.0 / (hi - lo))
        return np.clip(np.round(lut), 0, 255).astype(np.uint8)[plane]

    return _per_channel(stretch, img)


def equalize(img: Image) -> Image:
    """Equalize the histogram of every channel independently."""
    # Not mmcv.imequalize: its bin step (PIL's) is floored, which piles a
    # small image's top levels on 255 (~25% of a 32x32 one's pixels).
    return _per_channel(lambda p: cv2.equalizeHist(np.ascontiguousarray(p)),
                        img)


def enhance(img: Image, op: str, factor: float,
            channel_order: str = 'bgr') -> Image:
    """Blend ``img`` with a degenerate image, as PIL's ImageEnhance does.

    Args:
        img (np.ndarray): uint8 image.
        op (str): The degenerate image: 'Brightness' black, 'Color' the luma
            image, 'Contrast' the mean luma, 'Sharpness' PIL's 3x3 smoothing
            (the one-pixel border is kept).
        factor (float): 0 gives the degenerate image, 1 the input, more
            exaggerates the difference.
        channel_order (str): 'bgr' or 'rgb': luma weights for Color/Contrast.
            Default: 'bgr'.

    Returns:
        np.ndarray: The adjusted image, same shape and dtype.
    """
    # backend='cv2': mmcv.use_backend('pillow') for image IO must not apply.
    if op == 'Brightness':
        out = mmcv.adjust_brightness(img, factor, backend='cv2')
    elif op == 'Sharpness':
        out = mmcv.adjust_sharpness(img, factor).reshape(img.shape)
        # PIL and the paper's code keep the one-pixel border; mmcv changes it.
        out[[0, -1]] = img[[0, -1]]
        out[:, [0, -1]] = img[:, [0, -1]]
    elif op in ('Color', 'Contrast'):
        check_choice('channel_order', channel_order)
        adjust = mmcv.adjust_color if op == 'Color' else mmcv.adjust_contrast
        if img.ndim == 2 or img.shape[2] == 1:
            # mmcv wants 3 channels; three equal ones have that value as luma.
            grey3 = np.dstack([img.reshape(img.shape[:2])] * 3)
            out = adjust(grey3, factor, backend='cv2')[:, :, 0]
        else:
            # mmcv's luma weights are BGR's; reversed RGB channels fit them.
            order = slice(None, None, -1 if channel_order == 'rgb' else 1)
            out = adjust(np.ascontiguousarray(img[:, :, order]), factor,
                         backend='cv2')[:, :, order]
    else:
        raise ValueError(f'unknown enhancement op {op!r}; known: Brightness, '
                         'Color, Contrast, Sharpness')
    return np.ascontiguousarray(out).reshape(img.shape)
