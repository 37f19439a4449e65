"""AutoAugment (Cubuk et al., "AutoAugment: Learning Augmentation Strategies
from Data", CVPR 2019) on uint8 numpy images.

Every image operation is a small pure function over a ``uint8`` array of shape
``(H, W)`` or ``(H, W, C)`` so that it can be tested on its own; the
:class:`AutoAugment` transform only samples a sub-policy and chains them.

Magnitudes. The paper gives each operation a range (its Table 1) and a level
0-10 inside it. Here every level is read as *strength*: level 0 is the
identity for every operation that has a magnitude, level 10 is the end of the
paper's range, and geometric / enhancement operations get a random sign:

=============================  ============================================
operation                      argument at level ``L`` (``m = L / 10``)
=============================  ============================================
ShearX / ShearY                shear ``+-0.3 m`` (about the image centre)
TranslateX / TranslateY        ``+-translate_frac * m * width|height`` px
Rotate                         ``+-30 m`` degrees
Solarize                       invert pixels ``>= 256 - 256 m``
Posterize                      keep ``8 - round(4 m)`` high bits
Contrast/Color/Brightness/     enhancement factor ``1 +- 0.9 m``
Sharpness
AutoContrast/Equalize/Invert   no magnitude, the level is ignored
=============================  ============================================

The original TensorFlow code maps the enhancement levels to ``0.1 + 1.8 m``
(so level 0 there is a strong degradation) and Solarize level 0 to a full
inversion; the strength reading above makes every level-0 op a no-op, which
is what the ``(Color, 0.4, 0)`` entries of the ImageNet policy are then.

Randomness comes from numpy's global RNG so that ``np.random.seed`` /
``mmengine.runner.set_random_seed`` make a run reproducible and mmengine's
per-worker seeding gives each dataloader worker its own stream (a generator
owned by the transform would be forked identically into every worker).
"""
import math
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence
from typing import Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

MAX_LEVEL = 10

_INTERPOLATIONS = {
    'nearest': cv2.INTER_NEAREST,
    'bilinear': cv2.INTER_LINEAR,
    'bicubic': cv2.INTER_CUBIC,
}

Fill = Union[int, Sequence[int]]

# ---------------------------------------------------------------------------
# Image operations. All take and return uint8 arrays of the same shape.
# ---------------------------------------------------------------------------


def _check_uint8(img: np.ndarray) -> None:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8:
        raise TypeError('AutoAugment operations expect a uint8 numpy image, '
                        f'got {type(img).__name__} '
                        f'{getattr(img, "dtype", "")}')
    if img.ndim not in (2, 3):
        raise ValueError(f'expected an (H, W) or (H, W, C) image, got shape '
                         f'{img.shape}')


def _warp_affine(img: np.ndarray, matrix: np.ndarray, fill: Fill,
                 interpolation: str) -> np.ndarray:
    """Apply a forward 2x3 affine ``matrix``; uncovered pixels get ``fill``."""
    _check_uint8(img)
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of '
                         f'{sorted(_INTERPOLATIONS)}, got {interpolation!r}')
    h, w = img.shape[:2]
    channels = 1 if img.ndim == 2 else img.shape[2]
    fills = [int(fill)] * channels if np.isscalar(fill) else list(fill)
    if len(fills) != channels:
        raise ValueError(f'fill has {len(fills)} values for a {channels}-'
                         'channel image')
    flags = _INTERPOLATIONS[interpolation]
    # OpenCV's borderValue is a 4-vector (a bare int only fills channel 0),
    # so wide images are warped in chunks of at most four channels.
    planes = img.reshape(h, w, channels)
    chunks = []
    for start in range(0, channels, 4):
        part = np.ascontiguousarray(planes[:, :, start:start + 4])
        value = tuple(fills[start:start + 4]) + (0, ) * 4
        out = cv2.warpAffine(
            part,
            matrix.astype(np.float64), (w, h),
            flags=flags,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=value[:4])
        chunks.append(out.reshape(h, w, -1))
    return np.concatenate(chunks, axis=2).reshape(img.shape)


def shear_x(img: np.ndarray,
            shear: float,
            fill: Fill = 128,
            interpolation: str = 'bilinear') -> np.ndarray:
    """Shear horizontally about the centre: ``x' = x + shear * (y - cy)``.

    Args:
        img (np.ndarray): uint8 image.
        shear (float): Shear factor (tangent of the shear angle).
        fill (int | Sequence[int]): Value of pixels shifted in from outside.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.

    Returns:
        np.ndarray: Sheared image with the input's shape.
    """
    cy = (img.shape[0] - 1) / 2
    matrix = np.array([[1.0, shear, -shear * cy], [0.0, 1.0, 0.0]])
    return _warp_affine(img, matrix, fill, interpolation)


def shear_y(img: np.ndarray,
            shear: float,
            fill: Fill = 128,
            interpolation: str = 'bilinear') -> np.ndarray:
    """Shear vertically about the centre: ``y' = y + shear * (x - cx)``.

    Args:
        img (np.ndarray): uint8 image.
        shear (float): Shear factor (tangent of the shear angle).
        fill (int | Sequence[int]): Value of pixels shifted in from outside.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.

    Returns:
        np.ndarray: Sheared image with the input's shape.
    """
    cx = (img.shape[1] - 1) / 2
    matrix = np.array([[1.0, 0.0, 0.0], [shear, 1.0, -shear * cx]])
    return _warp_affine(img, matrix, fill, interpolation)


def translate_x(img: np.ndarray,
                pixels: float,
                fill: Fill = 128,
                interpolation: str = 'bilinear') -> np.ndarray:
    """Shift the content right by ``pixels`` (left when negative).

    Args:
        img (np.ndarray): uint8 image.
        pixels (float): Horizontal shift in pixels.
        fill (int | Sequence[int]): Value of the uncovered columns.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.

    Returns:
        np.ndarray: Shifted image with the input's shape.
    """
    matrix = np.array([[1.0, 0.0, pixels], [0.0, 1.0, 0.0]])
    return _warp_affine(img, matrix, fill, interpolation)


def translate_y(img: np.ndarray,
                pixels: float,
                fill: Fill = 128,
                interpolation: str = 'bilinear') -> np.ndarray:
    """Shift the content down by ``pixels`` (up when negative).

    Args:
        img (np.ndarray): uint8 image.
        pixels (float): Vertical shift in pixels.
        fill (int | Sequence[int]): Value of the uncovered rows.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.

    Returns:
        np.ndarray: Shifted image with the input's shape.
    """
    matrix = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, pixels]])
    return _warp_affine(img, matrix, fill, interpolation)


def rotate(img: np.ndarray,
           degrees: float,
           fill: Fill = 128,
           interpolation: str = 'bilinear') -> np.ndarray:
    """Rotate counter-clockwise by ``degrees`` about the image centre.

    The canvas is not enlarged, so corners are cut off and filled.

    Args:
        img (np.ndarray): uint8 image.
        degrees (float): Angle in degrees, positive is counter-clockwise.
        fill (int | Sequence[int]): Value of the uncovered corners.
        interpolation (str): 'nearest', 'bilinear' or 'bicubic'.

    Returns:
        np.ndarray: Rotated image with the input's shape.
    """
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D(((w - 1) / 2, (h - 1) / 2), degrees, 1.0)
    return _warp_affine(img, matrix, fill, interpolation)


def _per_channel_lut(img: np.ndarray,
                     make_lut: Callable[[np.ndarray], np.ndarray]
                     ) -> np.ndarray:
    """Map each channel through the 256-entry table ``make_lut(channel)``."""
    _check_uint8(img)
    planes = img.reshape(img.shape[0], img.shape[1], -1)
    out = np.empty_like(planes)
    for c in range(planes.shape[2]):
        out[:, :, c] = make_lut(planes[:, :, c])[planes[:, :, c]]
    return out.reshape(img.shape)


def auto_contrast(img: np.ndarray) -> np.ndarray:
    """Stretch every channel linearly so that its min maps to 0, max to 255.

    Constant channels are left unchanged.

    Args:
        img (np.ndarray): uint8 image.

    Returns:
        np.ndarray: Contrast-stretched image.
    """

    def stretch(channel: np.ndarray) -> np.ndarray:
        lo, hi = int(channel.min()), int(channel.max())
        values = np.arange(256, dtype=np.float32)
        if hi <= lo:
            return values.astype(np.uint8)
        scaled = (values - lo) * (255.0 / (hi - lo))
        return np.clip(np.round(scaled), 0, 255).astype(np.uint8)

    return _per_channel_lut(img, stretch)


def equalize(img: np.ndarray) -> np.ndarray:
    """Equalize the histogram of every channel independently.

    Args:
        img (np.ndarray): uint8 image.

    Returns:
        np.ndarray: Equalized image.
    """
    _check_uint8(img)
    planes = img.reshape(img.shape[0], img.shape[1], -1)
    out = np.stack([
        cv2.equalizeHist(np.ascontiguousarray(planes[:, :, c]))
        for c in range(planes.shape[2])
    ],
                   axis=2)
    return out.reshape(img.shape)


def invert(img: np.ndarray) -> np.ndarray:
    """Return the photographic negative ``255 - img``.

    Args:
        img (np.ndarray): uint8 image.

    Returns:
        np.ndarray: Inverted image.
    """
    _check_uint8(img)
    return 255 - img


def solarize(img: np.ndarray, threshold: int) -> np.ndarray:
    """Invert the pixels whose value is ``>= threshold``.

    Args:
        img (np.ndarray): uint8 image.
        threshold (int): 0 inverts everything, 256 nothing.

    Returns:
        np.ndarray: Solarized image.
    """
    _check_uint8(img)
    return np.where(img >= threshold, 255 - img, img).astype(np.uint8)


def posterize(img: np.ndarray, bits: int) -> np.ndarray:
    """Keep only the ``bits`` most significant bits of every value.

    Args:
        img (np.ndarray): uint8 image.
        bits (int): Bits kept, 0-8 (8 is the identity).

    Returns:
        np.ndarray: Posterized image.
    """
    _check_uint8(img)
    if not 0 <= bits <= 8:
        raise ValueError(f'bits must be in [0, 8], got {bits}')
    mask = (0xFF << (8 - int(bits))) & 0xFF
    return img & np.uint8(mask)


def _blend(degenerate: np.ndarray, img: np.ndarray,
           factor: float) -> np.ndarray:
    """Extrapolate from ``degenerate`` towards / past ``img`` (PIL-style).

    ``factor`` 0 gives ``degenerate``, 1 gives ``img``, >1 exaggerates the
    difference. Results are rounded and clipped back to uint8.
    """
    if factor == 1.0:
        return img.copy()
    base = degenerate.astype(np.float32)
    out = base + np.float32(factor) * (img.astype(np.float32) - base)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _to_gray(img: np.ndarray, channel_order: str) -> np.ndarray:
    """Luma of a 3-channel image (or the image itself if single-channel)."""
    if img.ndim == 2 or img.shape[2] == 1:
        return img.reshape(img.shape[:2])
    if img.shape[2] != 3:
        raise ValueError('colour operations need 1 or 3 channels, got '
                         f'{img.shape[2]}')
    if channel_order not in ('bgr', 'rgb'):
        raise ValueError(f"channel_order must be 'bgr' or 'rgb', got "
                         f'{channel_order!r}')
    code = cv2.COLOR_BGR2GRAY if channel_order == 'bgr' else \
        cv2.COLOR_RGB2GRAY
    return cv2.cvtColor(np.ascontiguousarray(img), code)


def brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """Scale brightness: 0 gives black, 1 the input.

    Args:
        img (np.ndarray): uint8 image.
        factor (float): Enhancement factor.

    Returns:
        np.ndarray: Adjusted image.
    """
    _check_uint8(img)
    return _blend(np.zeros_like(img), img, factor)


def color(img: np.ndarray,
          factor: float,
          channel_order: str = 'bgr') -> np.ndarray:
    """Scale saturation: 0 gives the grayscale image, 1 the input.

    Args:
        img (np.ndarray): uint8 image; single-channel images are returned
            unchanged.
        factor (float): Enhancement factor.
        channel_order (str): 'bgr' (mmcv's loading default) or 'rgb'; picks
            the luma weights.

    Returns:
        np.ndarray: Adjusted image.
    """
    _check_uint8(img)
    gray = _to_gray(img, channel_order)
    if img.ndim == 2 or img.shape[2] == 1:
        return img.copy()
    degenerate = np.repeat(gray[:, :, None], img.shape[2], axis=2)
    return _blend(degenerate, img, factor)


def contrast(img: np.ndarray,
             factor: float,
             channel_order: str = 'bgr') -> np.ndarray:
    """Scale contrast about the mean luma: 0 gives a flat grey image.

    Args:
        img (np.ndarray): uint8 image.
        factor (float): Enhancement factor.
        channel_order (str): 'bgr' or 'rgb'; picks the luma weights.

    Returns:
        np.ndarray: Adjusted image.
    """
    _check_uint8(img)
    mean = int(_to_gray(img, channel_order).mean() + 0.5)
    return _blend(np.full_like(img, mean), img, factor)


def sharpness(img: np.ndarray, factor: float) -> np.ndarray:
    """Sharpen (factor > 1) or blur (factor < 1) with PIL's smoothing kernel.

    The degenerate image is the 3x3 smoothing of the input with its one-pixel
    border kept, so the border never changes.

    Args:
        img (np.ndarray): uint8 image.
        factor (float): Enhancement factor; 1 is the identity.

    Returns:
        np.ndarray: Adjusted image.
    """
    _check_uint8(img)
    if factor == 1.0 or min(img.shape[:2]) < 3:
        return img.copy()
    kernel = np.ones((3, 3), np.float32)
    kernel[1, 1] = 5.0
    kernel /= kernel.sum()
    smooth = cv2.filter2D(img.astype(np.float32), -1, kernel)
    smooth = np.clip(np.round(smooth), 0, 255).astype(np.uint8)
    degenerate = img.copy()
    degenerate[1:-1, 1:-1] = smooth.reshape(img.shape)[1:-1, 1:-1]
    return _blend(degenerate, img, factor)


# ---------------------------------------------------------------------------
# Level -> argument mapping.
# ---------------------------------------------------------------------------


class _OpSpec(NamedTuple):
    """How an operation name turns a level into a call.

    ``call(img, m, hparams)`` receives the signed strength ``m`` in [-1, 1].
    """
    call: Callable[[np.ndarray, float, dict], np.ndarray]
    signed: bool


def _geometric(fn: Callable, arg_of: Callable[[float, np.ndarray, dict],
                                              float]) -> Callable:

    def call(img: np.ndarray, m: float, hp: dict) -> np.ndarray:
        arg = arg_of(m, img, hp)
        if arg == 0:
            return img.copy()
        return fn(img, arg, fill=hp['fill'], interpolation=hp['interpolation'])

    return call


def _translate_pixels(m: float, size: int, hp: dict) -> int:
    # Whole pixels keep the shift a pure copy with no resampling blur.
    pixels = hp['translate_frac'] * abs(m) * size
    return int(math.copysign(int(pixels + 0.5), m))


_OPS: Dict[str, _OpSpec] = {
    'ShearX':
    _OpSpec(_geometric(shear_x, lambda m, img, hp: 0.3 * m), True),
    'ShearY':
    _OpSpec(_geometric(shear_y, lambda m, img, hp: 0.3 * m), True),
    'TranslateX':
    _OpSpec(
        _geometric(translate_x,
                   lambda m, img, hp: _translate_pixels(m, img.shape[1], hp)),
        True),
    'TranslateY':
    _OpSpec(
        _geometric(translate_y,
                   lambda m, img, hp: _translate_pixels(m, img.shape[0], hp)),
        True),
    'Rotate':
    _OpSpec(_geometric(rotate, lambda m, img, hp: 30.0 * m), True),
    'AutoContrast':
    _OpSpec(lambda img, m, hp: auto_contrast(img), False),
    'Equalize':
    _OpSpec(lambda img, m, hp: equalize(img), False),
    'Invert':
    _OpSpec(lambda img, m, hp: invert(img), False),
    'Solarize':
    _OpSpec(lambda img, m, hp: solarize(img, 256 - int(256 * m + 0.5)),
            False),
    'Posterize':
    _OpSpec(lambda img, m, hp: posterize(img, 8 - int(4 * m + 0.5)), False),
    'Contrast':
    _OpSpec(
        lambda img, m, hp: contrast(img, 1.0 + 0.9 * m, hp['channel_order']),
        True),
    'Color':
    _OpSpec(lambda img, m, hp: color(img, 1.0 + 0.9 * m, hp['channel_order']),
            True),
    'Brightness':
    _OpSpec(lambda img, m, hp: brightness(img, 1.0 + 0.9 * m), True),
    'Sharpness':
    _OpSpec(lambda img, m, hp: sharpness(img, 1.0 + 0.9 * m), True),
}

OP_NAMES: Tuple[str, ...] = tuple(_OPS)

DEFAULT_HPARAMS: Dict[str, object] = dict(
    # 128 grey, as in the paper's reference code: a mid value disturbs the
    # image statistics less than black.
    fill=128,
    interpolation='bilinear',
    # The paper translates by up to 150 px on 331 px ImageNet crops.
    translate_frac=150 / 331,
    # mmcv's LoadImageFromFile decodes to BGR; only Color/Contrast care.
    channel_order='bgr',
)


def _merge_hparams(hparams: Optional[dict]) -> dict:
    merged = dict(DEFAULT_HPARAMS)
    unknown = set(hparams or {}) - set(DEFAULT_HPARAMS)
    if unknown:
        raise KeyError(f'unknown AutoAugment hparams {sorted(unknown)}; '
                       f'known: {sorted(DEFAULT_HPARAMS)}')
    merged.update(hparams or {})
    if merged['interpolation'] not in _INTERPOLATIONS:
        raise ValueError(f'interpolation must be one of '
                         f'{sorted(_INTERPOLATIONS)}, got '
                         f"{merged['interpolation']!r}")
    return merged


def apply_op(img: np.ndarray,
             name: str,
             level: float,
             sign: int = 1,
             hparams: Optional[dict] = None) -> np.ndarray:
    """Apply one named AutoAugment operation at ``level``.

    Args:
        img (np.ndarray): uint8 image, (H, W) or (H, W, C).
        name (str): One of :data:`OP_NAMES`.
        level (float): Magnitude level in [0, 10]; 0 is the identity.
        sign (int): +1 or -1; flips the direction of signed operations
            (shear, translate, rotate, enhancements) and is ignored by others.
        hparams (dict, optional): Overrides of :data:`DEFAULT_HPARAMS`.

    Returns:
        np.ndarray: The augmented image, same shape and dtype.
    """
    if name not in _OPS:
        raise KeyError(f'unknown AutoAugment op {name!r}; known: '
                       f'{list(OP_NAMES)}')
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f'level must be in [0, {MAX_LEVEL}], got {level}')
    if sign not in (1, -1):
        raise ValueError(f'sign must be 1 or -1, got {sign}')
    _check_uint8(img)
    spec = _OPS[name]
    m = level / MAX_LEVEL
    if spec.signed:
        m *= sign
    return spec.call(img, m, _merge_hparams(hparams))


# ---------------------------------------------------------------------------
# Policies.
# ---------------------------------------------------------------------------

# Table 9 of the paper: 25 sub-policies of (operation, probability, level).
# The paper lists a level for every op; those of AutoContrast, Equalize and
# Invert are kept for fidelity and ignored.
IMAGENET_POLICY: Tuple[Tuple[Tuple[str, float, int], ...], ...] = (
    (('Posterize', 0.4, 8), ('Rotate', 0.6, 9)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)),
    (('Equalize', 0.8, 8), ('Equalize', 0.6, 3)),
    (('Posterize', 0.6, 7), ('Posterize', 0.6, 6)),
    (('Equalize', 0.4, 7), ('Solarize', 0.2, 4)),
    (('Equalize', 0.4, 4), ('Rotate', 0.8, 8)),
    (('Solarize', 0.6, 3), ('Equalize', 0.6, 7)),
    (('Posterize', 0.8, 5), ('Equalize', 1.0, 2)),
    (('Rotate', 0.2, 3), ('Solarize', 0.6, 8)),
    (('Equalize', 0.6, 8), ('Posterize', 0.4, 6)),
    (('Rotate', 0.8, 8), ('Color', 0.4, 0)),
    (('Rotate', 0.4, 9), ('Equalize', 0.6, 2)),
    (('Equalize', 0.0, 7), ('Equalize', 0.8, 8)),
    (('Invert', 0.6, 4), ('Equalize', 1.0, 8)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Rotate', 0.8, 8), ('Color', 1.0, 2)),
    (('Color', 0.8, 8), ('Solarize', 0.8, 7)),
    (('Sharpness', 0.4, 7), ('Invert', 0.6, 8)),
    (('ShearX', 0.6, 5), ('Equalize', 1.0, 9)),
    (('Color', 0.4, 0), ('Equalize', 0.6, 3)),
    (('Equalize', 0.4, 7), ('Solarize', 0.2, 4)),
    (('Solarize', 0.6, 5), ('AutoContrast', 0.6, 5)),
    (('Invert', 0.6, 4), ('Equalize', 1.0, 8)),
    (('Color', 0.6, 4), ('Contrast', 1.0, 8)),
    (('Equalize', 0.8, 8), ('Equalize', 0.6, 3)),
)

POLICIES = {'imagenet': IMAGENET_POLICY}

OpTuple = Tuple[str, float, float]


def _parse_op(op: Union[Sequence, dict]) -> OpTuple:
    """Normalise ``(name, prob, level)`` or ``dict(type, prob, level)``."""
    if isinstance(op, dict):
        missing = {'type', 'prob', 'level'} - set(op)
        if missing or len(op) != 3:
            raise ValueError('an op dict needs exactly the keys type, prob, '
                             f'level; got {sorted(op)}')
        name, prob, level = op['type'], op['prob'], op['level']
    else:
        if len(op) != 3:
            raise ValueError(
                f'an op must be (name, prob, level), got {op!r}')
        name, prob, level = op
    if name not in _OPS:
        raise KeyError(f'unknown AutoAugment op {name!r}; known: '
                       f'{list(OP_NAMES)}')
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f'probability of {name} must be in [0, 1], got '
                         f'{prob}')
    if not 0 <= level <= MAX_LEVEL:
        raise ValueError(f'level of {name} must be in [0, {MAX_LEVEL}], got '
                         f'{level}')
    return str(name), float(prob), float(level)


def parse_policies(
        policies: Union[str, Sequence]) -> List[List[OpTuple]]:
    """Resolve a policy name or validate a custom list of sub-policies.

    Args:
        policies (str | Sequence): A name in :data:`POLICIES` or a sequence
            of sub-policies, each a sequence of ops given as
            ``(name, prob, level)`` or ``dict(type=name, prob=p, level=l)``.

    Returns:
        list[list[tuple]]: Sub-policies as lists of ``(name, prob, level)``.
    """
    if isinstance(policies, str):
        if policies not in POLICIES:
            raise KeyError(f'unknown AutoAugment policy {policies!r}; known: '
                           f'{sorted(POLICIES)}')
        policies = POLICIES[policies]
    parsed = [[_parse_op(op) for op in sub] for sub in policies]
    if not parsed or any(len(sub) == 0 for sub in parsed):
        raise ValueError('policies must be a non-empty list of non-empty '
                         'sub-policies')
    return parsed


@TRANSFORMS.register_module()
class AutoAugment(BaseTransform):
    """Apply one randomly chosen AutoAugment sub-policy to ``results['img']``.

    For every image one sub-policy is picked uniformly; each of its ops then
    fires with its own probability, at its level, with a random sign for the
    signed ops (see the module docstring for the level mapping).

    Required Keys:

    - img (uint8, (H, W) or (H, W, C))

    Modified Keys:

    - img (same shape and dtype)

    Args:
        policies (str | Sequence): 'imagenet' (Table 9 of the paper) or a
            custom list of sub-policies, see :func:`parse_policies`.
        hparams (dict, optional): Overrides of :data:`DEFAULT_HPARAMS`:
            ``fill`` (int or per-channel tuple for pixels shifted in by
            geometric ops), ``interpolation`` ('nearest' | 'bilinear' |
            'bicubic'), ``translate_frac`` (translation at level 10 as a
            fraction of the image side) and ``channel_order`` ('bgr' | 'rgb',
            for the luma used by Color and Contrast).
    """

    def __init__(self,
                 policies: Union[str, Sequence] = 'imagenet',
                 hparams: Optional[dict] = None) -> None:
        super().__init__()
        self.policy_name = policies if isinstance(policies, str) else None
        self.policies = parse_policies(policies)
        self.hparams = _merge_hparams(hparams)

    @cache_randomness
    def _sample_ops(self) -> List[Tuple[str, float, int]]:
        """Pick a sub-policy and decide which of its ops fire, and signs."""
        sub_policy = self.policies[np.random.randint(len(self.policies))]
        chosen = []
        for name, prob, level in sub_policy:
            if np.random.rand() >= prob:
                continue
            sign = -1 if _OPS[name].signed and np.random.rand() < 0.5 else 1
            chosen.append((name, level, sign))
        return chosen

    def transform(self, results: dict) -> dict:
        """Augment ``results['img']`` in the results dict.

        Args:
            results (dict): Must hold a uint8 ``img``.

        Returns:
            dict: The same dict with the augmented ``img``.
        """
        img = results['img']
        _check_uint8(img)
        for name, level, sign in self._sample_ops():
            spec = _OPS[name]
            m = level / MAX_LEVEL * (sign if spec.signed else 1)
            img = spec.call(img, m, self.hparams)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        policies = repr(self.policy_name) if self.policy_name else \
            f'<{len(self.policies)} custom sub-policies>'
        return (f'{self.__class__.__name__}(policies={policies}, '
                f'hparams={self.hparams})')
