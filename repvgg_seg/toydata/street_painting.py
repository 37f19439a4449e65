"""Turn a street scene's objects into an RGB image and a trainId label map.

The image is painted from the very rasterisation that ``cityscapesscripts``
uses for the labels (PIL polygons filled in annotation order, later objects
on top), so image and label map agree pixel for pixel.
"""
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .street_geometry import (DEFAULT_SIZE, TOY_TRAIN_IDS, ToyObject,
                              build_toy_objects)

# Colours of the texture details drawn over an object's base colour.
_WINDOW_RGB = (70, 88, 120)
_LANE_RGB = (214, 214, 204)
_SIGN_BORDER_RGB = (40, 36, 30)
_GLASS_RGB = (38, 48, 64)
_WHEEL_RGB = (18, 18, 20)

# A texture colours the visible pixels ``(ys, xs)`` of ``obj``, given its
# jittered base colour ``rgb`` and per-image context ``ctx`` (the generator,
# the shared foliage blotches and the object's visibility mask).
_Texture = Callable[[ToyObject, np.ndarray, np.ndarray, np.ndarray, dict],
                    np.ndarray]


@dataclass
class ToyScene:
    """A rendered scene.

    Args:
        image (np.ndarray): ``(H, W, 3)`` uint8 RGB image.
        objects (list[ToyObject]): Annotations in drawing order.
        label_map (np.ndarray): ``(H, W)`` uint8 trainId map, identical to what
            ``json2labelImg(..., 'trainIds')`` produces from ``objects``.
    """

    image: np.ndarray
    objects: List[ToyObject]
    label_map: np.ndarray


def rasterize_objects(objects: Sequence[ToyObject], width: int,
                      height: int) -> np.ndarray:
    """Index map of the visible object at each pixel (0 = none, i + 1 = i-th).

    This is the same PIL polygon fill, in the same order, that
    ``cityscapesscripts.preparation.json2labelImg`` performs, which is what
    makes the painted image agree with the converted label map exactly.

    Args:
        objects (Sequence[ToyObject]): Objects in drawing order.
        width (int): Map width in pixels.
        height (int): Map height in pixels.

    Returns:
        np.ndarray: ``(height, width)`` uint8 index map.

    Raises:
        ValueError: If there are more objects than an 8-bit map can index.
    """
    if len(objects) > 255:
        raise ValueError(f'too many objects ({len(objects)}) for an 8-bit map')
    canvas = Image.new('L', (width, height), 0)
    drawer = ImageDraw.Draw(canvas)
    for index, obj in enumerate(objects):
        drawer.polygon(obj.polygon, fill=index + 1)
    return np.asarray(canvas, dtype=np.uint8)


def _solid(rgb: np.ndarray, count: int) -> np.ndarray:
    """``count`` copies of ``rgb``, for textures that then recolour parts."""
    return np.repeat(rgb[None], count, 0)


def _tex_sky(obj, ys, xs, rgb, ctx):
    # Lighter towards the horizon, as in daylight.
    t = (ys / max(obj.params['horizon'], 1))[:, None]
    return rgb + (255 - rgb) * 0.35 * t


def _tex_building(obj, ys, xs, rgb, ctx):
    (ox, oy), (px, py) = obj.params['origin'], obj.params['pitch']
    frac = obj.params['window_frac']
    window = (((xs - ox) % px) < frac * px) & (((ys - oy) % py) < 0.55 * py)
    window &= ys >= oy
    out = _solid(rgb, len(ys))
    out[window] = _WINDOW_RGB + ctx['rng'].uniform(-10, 10, 3)
    return out


def _tex_foliage(obj, ys, xs, rgb, ctx):
    return rgb * ctx['blotches'][ys, xs, None]


def _tex_sidewalk(obj, ys, xs, rgb, ctx):
    joints = ((ys % 7) == 0) | (((xs + ys // 7 * 5) % 13) == 0)
    return rgb * np.where(joints, 0.82, 1.0)[:, None]


def _tex_road(obj, ys, xs, rgb, ctx):
    hz, (tl, tr), (bl, br) = (obj.params['horizon'], obj.params['top'],
                              obj.params['bottom'])
    t = (ys - hz) / obj.params['depth']
    centre = (tl + tr) / 2 + t * ((bl + br) / 2 - (tl + tr) / 2)
    half_line = 0.5 + 0.012 * (br - bl) * t
    # Dashes get longer towards the camera: alternate on log-distance.
    dashed = (np.log1p(ys - hz) * 2.2) % 1.0 < 0.5
    lane = (np.abs(xs - centre) <= half_line) & dashed & (t > 0.08)
    out = _solid(rgb, len(ys))
    out[lane] = _LANE_RGB
    return out


def _tex_pole(obj, ys, xs, rgb, ctx):
    # Cylinder shading: brighter along the axis.
    u = (xs - obj.params['x0']) / obj.params['width']
    return rgb * (0.8 + 0.45 * (1 - np.abs(2 * u - 1)))[:, None]


def _tex_car(obj, ys, xs, rgb, ctx):
    x0, y0, cw, ch = obj.params['box']
    u, v = (xs - x0) / cw, (ys - y0) / ch
    out = _solid(rgb, len(ys))
    out[(v > 0.06) & (v < 0.36) & (u > 0.25) & (u < 0.75)] = _GLASS_RGB
    out[(v > 0.55) & (v < 0.68) & (u > 0.1) & (u < 0.9)] *= 0.75  # bumper
    wheels = (v > 0.84) & ((u < 0.22) | (u > 0.78))
    out[wheels] = _WHEEL_RGB
    return out


def _tex_person(obj, ys, xs, rgb, ctx):
    v = (ys - obj.params['top']) / obj.params['height']
    out = _solid(rgb, len(ys))
    out[v < 0.17] = obj.params['skin']
    out[v > 0.58] = obj.params['trousers']
    return out


def _tex_sign(obj, ys, xs, rgb, ctx):
    # A dark rim one pixel wide, like the frame of a real sign.
    inner = cv2.erode(ctx['mask'].astype(np.uint8), np.ones((3, 3), np.uint8))
    out = _solid(rgb, len(ys))
    out[inner[ys, xs] == 0] = _SIGN_BORDER_RGB
    return out


# Keyed by ToyObject.paint; an unknown kind is painted flat in its colour.
_TEXTURES: Dict[str, _Texture] = dict(
    sky=_tex_sky,
    building=_tex_building,
    foliage=_tex_foliage,
    sidewalk=_tex_sidewalk,
    road=_tex_road,
    pole=_tex_pole,
    car=_tex_car,
    person=_tex_person,
    sign=_tex_sign)


def _paint(objects: Sequence[ToyObject], index_map: np.ndarray,
           rng: np.random.Generator) -> np.ndarray:
    """Colour every visible pixel from its object's texture, then add global
    illumination, sensor noise and a slight blur."""
    height, width = index_map.shape
    image = np.zeros((height, width, 3), np.float32)
    # Low-frequency blotches shared by all foliage: leaves rather than noise.
    small = rng.uniform(0.65, 1.3, (max(height // 4, 1), max(width // 4, 1)))
    blotches = cv2.resize(small.astype(np.float32), (width, height),
                          interpolation=cv2.INTER_LINEAR)
    for index, obj in enumerate(objects):
        mask = index_map == index + 1
        ys, xs = np.nonzero(mask)
        if len(ys) == 0:
            continue
        rgb = np.asarray(obj.rgb, np.float32) + rng.uniform(-6, 6, 3)
        texture = _TEXTURES.get(obj.paint)
        if texture is None:
            image[ys, xs] = rgb
        else:
            ctx = dict(rng=rng, blotches=blotches, mask=mask)
            image[ys, xs] = texture(obj, ys, xs, rgb, ctx)
    image *= rng.uniform(0.85, 1.15)
    image += rng.uniform(-8, 8, 3)
    image += rng.normal(0, 5, image.shape)
    image = cv2.GaussianBlur(image, (3, 3), 0.7)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def render_toy_scene(rng: np.random.Generator,
                     size: Tuple[int, int] = DEFAULT_SIZE) -> ToyScene:
    """Generate one scene: layout, painted image and trainId map.

    Args:
        rng (np.random.Generator): Source of all randomness for this image.
        size (tuple[int, int]): ``(width, height)`` in pixels. Default:
            ``DEFAULT_SIZE``.

    Returns:
        ToyScene: The image (RGB), its objects and its label map.

    Raises:
        ValueError: If ``size`` is below 32x32.
    """
    width, height = size
    if width < 32 or height < 32:
        raise ValueError(f'toy images must be at least 32x32, got {size}')
    objects = build_toy_objects(rng, width, height)
    index_map = rasterize_objects(objects, width, height)
    lut = np.full(len(objects) + 1, 255, np.uint8)
    lut[1:] = [TOY_TRAIN_IDS[obj.label] for obj in objects]
    return ToyScene(
        image=_paint(objects, index_map, rng),
        objects=objects,
        label_map=lut[index_map])
