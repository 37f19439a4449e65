"""AutoAugment (Cubuk et al., "AutoAugment: Learning Augmentation Strategies
from Data", CVPR 2019) on uint8 ``(H, W)``, ``(H, W, 1)`` or ``(H, W, 3)``
images: the policy table, the level mapping and the registered transform (the
image operations are in :mod:`.auto_augment_ops`).

Every level 0-10 is read as *strength*: 0 is the identity for every op with
a magnitude, 10 the end of the paper's range (its Table 1), and geometric /
enhancement ops get a random sign. At level ``L``, with ``m = L / 10``:

- ShearX / ShearY: shear ``+-0.3 m`` about the image centre.
- TranslateX / TranslateY: ``+-translate_frac * m * width|height`` pixels.
- Rotate: ``+-30 m`` degrees.
- Solarize: invert the pixels ``>= 256 - 256 m``.
- Posterize: keep the ``8 - round(4 m)`` high bits.
- Contrast / Color / Brightness / Sharpness: enhancement factor ``1 +- 0.9 m``.
- AutoContrast / Equalize / Invert: no magnitude, the level is ignored.

(The TensorFlow reference maps enhancement levels to ``0.1 + 1.8 m`` and
Solarize level 0 to a full inversion; here the ImageNet policy's
``(Color, 0.4, 0)`` entries are no-ops.) Randomness comes from numpy's global
RNG, so ``np.random.seed`` / ``set_random_seed`` make a run reproducible and
mmengine's per-worker seeding gives each dataloader worker its own stream (a
generator owned by the transform would be forked identically into each).
"""
import math
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence
from typing import Tuple, Union

import numpy as np
from mmcv.transforms import BaseTransform
from mmcv.transforms.utils import cache_randomness
from mmseg.registry import TRANSFORMS

from .auto_augment_ops import (CHOICES, Image, auto_contrast, check_choice,
                               check_image, enhance, equalize, geometric,
                               invert, posterize, solarize)

MAX_LEVEL = 10


class _OpSpec(NamedTuple):
    """``call(img, m, hparams)`` gets the signed strength ``m`` in [-1, 1]."""
    call: Callable[[Image, float, dict], Image]
    signed: bool


def _signed_op(op: str) -> _OpSpec:

    def call(img: Image, m: float, hp: dict) -> Image:
        if op in _ENHANCE_OPS:
            return enhance(img, op, 1 + 0.9 * m, hp['channel_order'])
        if op in ('TranslateX', 'TranslateY'):
            size = img.shape[1] if op == 'TranslateX' else img.shape[0]
            # Whole pixels keep the shift a pure copy with no resampling blur.
            amount = math.copysign(
                int(hp['translate_frac'] * abs(m) * size + 0.5), m)
        else:
            amount = (30.0 if op == 'Rotate' else 0.3) * m
        return geometric(img, op, amount, hp['fill'], hp['interpolation'])

    return _OpSpec(call, True)


_ENHANCE_OPS = ('Contrast', 'Color', 'Brightness', 'Sharpness')
_OPS: Dict[str, _OpSpec] = {
    **{op: _signed_op(op) for op in ('ShearX', 'ShearY', 'TranslateX',
                                     'TranslateY', 'Rotate')},
    'AutoContrast': _OpSpec(lambda img, m, hp: auto_contrast(img), False),
    'Equalize': _OpSpec(lambda img, m, hp: equalize(img), False),
    'Invert': _OpSpec(lambda img, m, hp: invert(img), False),
    'Solarize': _OpSpec(
        lambda img, m, hp: solarize(img, 256 - int(256 * m + 0.5)), False),
    'Posterize': _OpSpec(
        lambda img, m, hp: posterize(img, 8 - int(4 * m + 0.5)), False),
    **{op: _signed_op(op) for op in _ENHANCE_OPS},
}
OP_NAMES: Tuple[str, ...] = tuple(_OPS)

DEFAULT_HPARAMS: Dict[str, object] = dict(
    # Value (int or per-channel tuple) of the pixels that geometric ops shift
    # in: 128 grey, as in the paper's code, disturbs the statistics less than
    # black.
    fill=128,
    interpolation='bilinear',  # of geometric ops: nearest, bilinear, bicubic
    # Translation at level 10 as a fraction of the image side: the paper
    # translates by up to 150 px on 331 px ImageNet crops.
    translate_frac=150 / 331,
    # Luma weights of Color and Contrast, 'bgr' or 'rgb': mmcv's
    # LoadImageFromFile decodes to BGR.
    channel_order='bgr',
)


def _merge_hparams(hparams: Optional[dict]) -> dict:
    unknown = set(hparams or {}) - set(DEFAULT_HPARAMS)
    if unknown:
        raise KeyError(f'unknown AutoAugment hparams {sorted(unknown)}; '
                       f'known: {sorted(DEFAULT_HPARAMS)}')
    merged = {**DEFAULT_HPARAMS, **(hparams or {})}
    for name in CHOICES:
        check_choice(name, merged[name])
    return merged


def apply_op(img: Image, name: str, level: float, sign: int = 1,
             hparams: Optional[dict] = None) -> Image:
    """Apply one named AutoAugment operation at ``level``.

    Args:
        img (np.ndarray): uint8 image, (H, W), (H, W, 1) or (H, W, 3).
        name (str): One of :data:`OP_NAMES`.
        level (float): Magnitude level in [0, 10]; 0 is the identity.
        sign (int): +1 or -1; flips the direction of signed operations
            (shear, translate, rotate, enhancements) and is ignored by others.
            Default: 1.
        hparams (dict, optional): Overrides of :data:`DEFAULT_HPARAMS`.
            Default: None.

    Returns:
        np.ndarray: The augmented image, same shape and dtype.
    """
    name, _, level = _parse_op((name, 1.0, level))
    if sign not in (1, -1):
        raise ValueError(f'sign must be 1 or -1, got {sign}')
    check_image(img)
    return _apply(img, name, level, sign, _merge_hparams(hparams))


def _apply(img: Image, name: str, level: float, sign: int, hp: dict) -> Image:
    """:func:`apply_op` on arguments already checked (the transform checks
    its policies and hparams once, in ``__init__``)."""
    spec = _OPS[name]
    m = level / MAX_LEVEL * (sign if spec.signed else 1)
    return spec.call(img, m, hp)


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
    """Validate ``(name, prob, level)`` or ``dict(type, prob, level)``."""
    if isinstance(op, dict):
        if set(op) != {'type', 'prob', 'level'}:
            raise ValueError('an op dict needs exactly the keys type, prob, '
                             f'level; got {sorted(op)}')
        op = op['type'], op['prob'], op['level']
    if len(op) != 3:
        raise ValueError(f'an op must be (name, prob, level), got {op!r}')
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


def parse_policies(policies: Union[str, Sequence]) -> List[List[OpTuple]]:
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
    if not parsed or not all(parsed):
        raise ValueError('policies must be a non-empty list of non-empty '
                         'sub-policies')
    return parsed


@TRANSFORMS.register_module()
class AutoAugment(BaseTransform):
    """Apply one randomly chosen AutoAugment sub-policy to ``results['img']``.

    For every image one sub-policy is picked uniformly; each of its ops then
    fires with its own probability, at its level, with a random sign for the
    signed ops (see the module docstring for the level mapping).

    Required Keys: img (uint8, (H, W), (H, W, 1) or (H, W, 3)).
    Modified Keys: img (same shape and dtype).

    Args:
        policies (str | Sequence): 'imagenet' (Table 9 of the paper) or a
            custom list of sub-policies, see :func:`parse_policies`.
            Default: 'imagenet'.
        hparams (dict, optional): Overrides of :data:`DEFAULT_HPARAMS`
            (``fill``, ``interpolation``, ``translate_frac``,
            ``channel_order``). Default: None.
    """

    def __init__(self, policies: Union[str, Sequence] = 'imagenet',
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
        """Replace the uint8 ``results['img']`` by its augmented version."""
        img = results['img']
        check_image(img)
        for name, level, sign in self._sample_ops():
            img = _apply(img, name, level, sign, self.hparams)
        results['img'] = img
        return results

    def __repr__(self) -> str:
        policies = repr(self.policy_name) if self.policy_name else \
            f'<{len(self.policies)} custom sub-policies>'
        return (f'{self.__class__.__name__}(policies={policies}, '
                f'hparams={self.hparams})')
