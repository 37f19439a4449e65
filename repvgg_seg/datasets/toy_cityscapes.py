"""A small synthetic street-scene dataset in the real Cityscapes layout.

The toy set exists so that the whole pipeline (data preparation, training,
evaluation, deployment) can be exercised in minutes on a CPU without the
11 GB Cityscapes download. Every image is a procedurally drawn street scene
(sky, buildings, trees, sidewalk, road, cars, poles, traffic signs, persons)
and its annotation is written in the exact ``gtFine`` polygon JSON format, so
it goes through the same ``cityscapesscripts`` conversion and the same
``mmseg`` ``CityscapesDataset`` as the real data.

The image is painted from the very rasterisation that ``cityscapesscripts``
uses for the labels (PIL polygons filled in annotation order, later objects
on top), so image and label map agree pixel for pixel.
"""
import json
import os
import os.path as osp
import shutil
from dataclasses import dataclass, field
from typing import (Callable, Dict, Iterator, List, Optional, Sequence,
                    Tuple)

import cv2
import numpy as np
from cityscapesscripts.helpers.labels import name2label
from PIL import Image, ImageDraw

#: Cityscapes label names drawn by the generator (stuff first, then things).
TOY_LABELS: Tuple[str, ...] = ('road', 'sidewalk', 'building', 'pole',
                               'traffic sign', 'vegetation', 'sky', 'person',
                               'car')
#: trainId of each toy label, taken from cityscapesscripts' own label table.
TOY_TRAIN_IDS: Dict[str, int] = {
    name: name2label[name].trainId
    for name in TOY_LABELS
}
#: The sorted trainIds that can appear in a converted toy label map (besides
#: 255, which the toy scenes never produce but real data does).
TOY_TRAIN_ID_SET: Tuple[int, ...] = tuple(sorted(TOY_TRAIN_IDS.values()))

# (width, height); 2:1 like Cityscapes' 2048x1024.
DEFAULT_SIZE: Tuple[int, int] = (320, 160)
DEFAULT_NUM_TRAIN = 48
DEFAULT_NUM_VAL = 12
DEFAULT_CITIES: Tuple[str, ...] = ('toyburg', 'pixelstadt')
SPLITS: Tuple[str, ...] = ('train', 'val')

# Base RGB colour of each label; per-image and per-object jitter is added.
# They are chosen far apart so a tiny network can learn them, with textures
# (windows, lane marks, foliage, clothing) so that colour alone is not enough.
_SKY_RGB = (118, 168, 222)
_BUILDING_RGBS = ((150, 138, 126), (168, 112, 92), (128, 126, 136),
                  (182, 166, 138))
_WINDOW_RGB = (70, 88, 120)
_VEGETATION_RGB = (62, 122, 40)
_TRUNK_RGB = (84, 74, 44)
_SIDEWALK_RGB = (196, 170, 178)
_ROAD_RGB = (86, 86, 92)
_LANE_RGB = (214, 214, 204)
_POLE_RGB = (52, 58, 70)
_SIGN_RGBS = ((232, 198, 28), (236, 176, 24))
_SIGN_BORDER_RGB = (40, 36, 30)
_CAR_RGBS = ((24, 44, 164), (28, 92, 172), (22, 24, 118))
_GLASS_RGB = (38, 48, 64)
_WHEEL_RGB = (18, 18, 20)
_SKIN_RGB = (222, 178, 146)
_SHIRT_RGBS = ((204, 30, 62), (172, 38, 142), (226, 92, 36))
_TROUSERS_RGB = (66, 40, 84)

# A walking-person outline in (u, v) units: u across the body in multiples of
# the person's width (centred on 0), v down from the head top in multiples of
# the height. Arms hang slightly away from the torso.
_PERSON_OUTLINE = ((-0.10, 0.00), (0.10, 0.00), (0.14, 0.08), (0.08, 0.16),
                   (0.40, 0.22), (0.45, 0.55), (0.32, 0.56), (0.28, 0.35),
                   (0.26, 0.58), (0.30, 1.00), (0.10, 1.00), (0.02, 0.62),
                   (-0.06, 1.00), (-0.26, 1.00), (-0.24, 0.58), (-0.28, 0.35),
                   (-0.32, 0.56), (-0.45, 0.55), (-0.40, 0.22), (-0.08, 0.16),
                   (-0.14, 0.08))
# A car seen from behind, same (u, v) convention with u in [0, 1].
_CAR_OUTLINE = ((0.02, 1.00), (0.00, 0.85), (0.00, 0.45), (0.12, 0.38),
                (0.22, 0.00), (0.78, 0.00), (0.88, 0.38), (1.00, 0.45),
                (1.00, 0.85), (0.98, 1.00))

Point = Tuple[int, int]
# A group of things at one ground row (their depth key) in drawing order.
_Things = Iterator[Tuple[int, List['ToyObject']]]


@dataclass
class ToyObject:
    """One annotated polygon and how to paint it.

    Args:
        label (str): Cityscapes label name (a key of ``TOY_TRAIN_IDS``).
        polygon (list[tuple[int, int]]): Vertices in pixel coordinates.
        rgb (np.ndarray): Base colour, float RGB.
        paint (str): Texture kind used by the painter.
        params (dict): Texture parameters (bounding boxes, secondary colours).
    """

    label: str
    polygon: List[Point]
    rgb: np.ndarray
    paint: str = 'flat'
    params: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        """The object as it appears in a ``gtFine_polygons.json`` file."""
        return dict(
            label=self.label, polygon=[[x, y] for x, y in self.polygon])


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

    def to_json(self) -> dict:
        """The scene's ``gtFine_polygons.json`` content."""
        height, width = self.label_map.shape
        return dict(
            imgHeight=height,
            imgWidth=width,
            objects=[obj.to_json() for obj in self.objects])


class _Layout:
    """Scene geometry shared by the object builders of one image."""

    def __init__(self, rng: np.random.Generator, width: int, height: int):
        self.rng = rng
        self.width = width
        self.height = height
        self.horizon = int(round(height * rng.uniform(0.36, 0.48)))
        vanish_x = width * rng.uniform(0.4, 0.6)
        half_top = width * rng.uniform(0.02, 0.05)
        self.road_top = (vanish_x - half_top, vanish_x + half_top)
        self.road_bottom = (width * rng.uniform(0.10, 0.22),
                            width * (1 - rng.uniform(0.10, 0.22)))

    def depth_to_y(self, depth: float) -> int:
        """Image row of a ground point: depth 0 is the horizon, 1 the bottom
        row."""
        ground = self.height - 1 - self.horizon
        return int(round(self.horizon + depth * ground))

    def road_span(self, y: float) -> Tuple[float, float]:
        """Left and right road edge at image row ``y`` (below the horizon)."""
        t = (y - self.horizon) / (self.height - 1 - self.horizon)
        left = self.road_top[0] + t * (self.road_bottom[0] - self.road_top[0])
        right = self.road_top[1] + t * (self.road_bottom[1] - self.road_top[1])
        return left, right

    def sidewalk_x(self, y: float, half_width: float) -> Optional[float]:
        """A random x centre on either sidewalk at row ``y``, or None if the
        object does not fit there."""
        left, right = self.road_span(y)
        ranges = [(half_width, left - half_width),
                  (right + half_width, self.width - 1 - half_width)]
        ranges = [(lo, hi) for lo, hi in ranges if hi > lo]
        if not ranges:
            return None
        lo, hi = ranges[self.rng.integers(len(ranges))]
        return self.rng.uniform(lo, hi)

    def clip(self, points: Sequence[Tuple[float, float]]) -> List[Point]:
        """Round to integer pixels inside the image, like real annotations."""
        return [(int(np.clip(round(x), 0, self.width - 1)),
                 int(np.clip(round(y), 0, self.height - 1)))
                for x, y in points]


def _jitter(rng: np.random.Generator, rgb: Sequence[float],
            amount: float) -> np.ndarray:
    return np.clip(np.asarray(rgb, np.float32) +
                   rng.uniform(-amount, amount, 3), 0, 255)


def _ellipse(cx: float, cy: float, rx: float, ry: float,
             rng: np.random.Generator,
             vertices: int = 14) -> List[Tuple[float, float]]:
    # Radial noise makes tree crowns look organic rather than geometric.
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    radii = rng.uniform(0.88, 1.12, vertices)
    return [(cx + rx * r * np.cos(a), cy + ry * r * np.sin(a))
            for a, r in zip(angles, radii)]


def _background(lay: _Layout,
                palette: Dict[str, np.ndarray]) -> List[ToyObject]:
    """Sky, buildings, trees and hedges: everything above the ground plane."""
    rng, W, H, hz = lay.rng, lay.width, lay.height, lay.horizon
    objs = [
        ToyObject('sky', lay.clip([(0, 0), (W, 0), (W, hz), (0, hz)]),
                  palette['sky'], 'sky', dict(horizon=hz))
    ]
    x = -rng.uniform(0, 0.1) * W
    while x < W:
        bw = rng.uniform(0.12, 0.3) * W
        top = rng.uniform(0.1 * H, max(0.1 * H, hz - 0.12 * H))
        outline = [(x, top), (x + bw, top), (x + bw, hz + 2), (x, hz + 2)]
        if rng.random() < 0.3:  # gable roof
            outline.insert(1, (x + bw / 2, max(2.0, top - 0.07 * H)))
        rgb = _jitter(rng, _BUILDING_RGBS[rng.integers(len(_BUILDING_RGBS))],
                      10) + palette['building_shift']
        pitch = (rng.uniform(0.035, 0.06) * W, rng.uniform(0.07, 0.11) * H)
        objs.append(
            ToyObject('building', lay.clip(outline), np.clip(rgb, 0, 255),
                      'building',
                      dict(origin=(x + rng.uniform(0, 4), top + 0.03 * H),
                           pitch=pitch, window_frac=rng.uniform(0.4, 0.6))))
        x += bw
        if rng.random() < 0.25:  # a gap that shows the sky
            x += rng.uniform(0.02, 0.08) * W
    for _ in range(rng.integers(0, 4)):
        rx, ry = rng.uniform(0.05, 0.1) * W, rng.uniform(0.08, 0.15) * H
        cx = rng.uniform(0, W)
        cy = max(0.1 * H + ry * 1.12, hz - rng.uniform(0.1, 0.25) * H)
        trunk_w = max(2.0, 0.014 * W)
        objs.append(
            ToyObject('vegetation',
                      lay.clip([(cx - trunk_w / 2, cy), (cx + trunk_w / 2, cy),
                                (cx + trunk_w / 2, hz + 1),
                                (cx - trunk_w / 2, hz + 1)]),
                      _jitter(rng, _TRUNK_RGB, 8), 'foliage'))
        objs.append(
            ToyObject('vegetation', lay.clip(_ellipse(cx, cy, rx, ry, rng)),
                      palette['vegetation'], 'foliage'))
    if rng.random() < 0.5:  # a hedge along the building line
        x0 = rng.uniform(0, 0.5) * W
        x1 = min(W, x0 + rng.uniform(0.25, 0.5) * W)
        xs = np.linspace(x0, x1, 8)
        tops = hz - rng.uniform(0.04, 0.09, len(xs)) * H
        outline = list(zip(xs, tops)) + [(x1, hz + 1), (x0, hz + 1)]
        objs.append(
            ToyObject('vegetation', lay.clip(outline), palette['vegetation'],
                      'foliage'))
    return objs


def _ground(lay: _Layout, palette: Dict[str, np.ndarray]) -> List[ToyObject]:
    """Sidewalk everywhere below the horizon, then the road on top of it."""
    W, H, hz = lay.width, lay.height, lay.horizon
    sidewalk = ToyObject('sidewalk',
                         lay.clip([(0, hz), (W, hz), (W, H), (0, H)]),
                         palette['sidewalk'], 'sidewalk')
    (tl, tr), (bl, br) = lay.road_top, lay.road_bottom
    road = ToyObject('road', lay.clip([(tl, hz), (tr, hz), (br, H), (bl, H)]),
                     palette['road'], 'road',
                     dict(horizon=hz, depth=max(H - 1 - hz, 1),
                          top=lay.road_top, bottom=lay.road_bottom))
    return [sidewalk, road]


def _cars(lay: _Layout, palette: Dict[str, np.ndarray]) -> _Things:
    rng, W = lay.rng, lay.width
    for _ in range(rng.integers(1, 4)):
        depth = rng.uniform(0.3, 0.92)
        yb = lay.depth_to_y(depth)
        # Sized from the shorter side so odd aspect ratios keep cars in frame.
        cw = depth * rng.uniform(0.3, 0.38) * min(W, 2 * lay.height)
        ch = cw * rng.uniform(0.5, 0.62)
        left, right = lay.road_span(yb)
        lo, hi = left + 0.3 * cw, right - 0.3 * cw
        cx = rng.uniform(lo, hi) if hi > lo else (left + right) / 2
        cx = float(np.clip(cx, cw / 2, W - 1 - cw / 2))
        x0, y0 = cx - cw / 2, yb - ch
        outline = [(x0 + u * cw, y0 + v * ch) for u, v in _CAR_OUTLINE]
        rgb = _jitter(rng, _CAR_RGBS[rng.integers(len(_CAR_RGBS))], 10)
        yield yb, [
            ToyObject('car', lay.clip(outline), rgb + palette['car_shift'],
                      'car', dict(box=(x0, y0, cw, ch)))
        ]


def _persons(lay: _Layout, palette: Dict[str, np.ndarray]) -> _Things:
    rng, H = lay.rng, lay.height
    for _ in range(rng.integers(0, 4)):
        depth = rng.uniform(0.35, 0.95)
        yb = lay.depth_to_y(depth)
        ph = depth * rng.uniform(0.5, 0.65) * H
        pw = 0.38 * ph
        cx = lay.sidewalk_x(yb, pw / 2)
        if cx is None:
            continue
        y0 = yb - ph
        outline = [(cx + u * pw, y0 + v * ph) for u, v in _PERSON_OUTLINE]
        shirt = _jitter(rng, _SHIRT_RGBS[rng.integers(len(_SHIRT_RGBS))], 12)
        yield yb, [
            ToyObject('person', lay.clip(outline), shirt, 'person',
                      dict(top=y0, height=ph,
                           skin=_jitter(rng, _SKIN_RGB, 10),
                           trousers=_jitter(rng, _TROUSERS_RGB, 10)))
        ]


def _sign_outline(shape: str, cx: float, cy: float,
                  size: float) -> List[Tuple[float, float]]:
    r = size / 2
    if shape == 'diamond':
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == 'triangle':
        return [(cx - r, cy - 0.8 * r), (cx + r, cy - 0.8 * r), (cx, cy + r)]
    if shape == 'octagon':
        return _regular_polygon(cx, cy, r, 8)
    return [(cx - r, cy - 0.8 * r), (cx + r, cy - 0.8 * r),
            (cx + r, cy + 0.8 * r), (cx - r, cy + 0.8 * r)]


def _regular_polygon(cx: float, cy: float, r: float,
                     vertices: int) -> List[Tuple[float, float]]:
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False) + np.pi / 8
    return [(cx + r * np.cos(a), cy + r * np.sin(a)) for a in angles]


def _poles(lay: _Layout, palette: Dict[str, np.ndarray]) -> _Things:
    rng, W, H, hz = lay.rng, lay.width, lay.height, lay.horizon
    for _ in range(rng.integers(1, 4)):
        depth = rng.uniform(0.15, 0.75)
        yb = lay.depth_to_y(depth)
        pw = max(3.0, W * 0.018 * (0.6 + depth))
        cx = lay.sidewalk_x(yb, pw / 2 + 1)
        if cx is None:
            continue
        top = rng.uniform(0.15 * H, max(0.15 * H, hz - 0.1 * H))
        x0, x1 = cx - pw / 2, cx + pw / 2
        objs = [
            ToyObject('pole', lay.clip([(x0, top), (x1, top), (x1, yb),
                                        (x0, yb)]),
                      palette['pole'], 'pole', dict(x0=x0, width=pw))
        ]
        if rng.random() < 0.65:
            size = max(8.0, pw * rng.uniform(2.8, 3.6))
            shape = ('rect', 'diamond', 'triangle',
                     'octagon')[rng.integers(4)]
            sy = max(top + 0.3 * size, 2 + size / 2)
            sx = float(np.clip(cx, size / 2, W - 1 - size / 2))
            rgb = _jitter(rng, _SIGN_RGBS[rng.integers(len(_SIGN_RGBS))], 10)
            objs.append(
                ToyObject('traffic sign',
                          lay.clip(_sign_outline(shape, sx, sy, size)), rgb,
                          'sign'))
        yield yb, objs


def _palette(rng: np.random.Generator) -> Dict[str, np.ndarray]:
    """Per-image class colours: one jitter per class, shared by its objects."""
    return dict(
        sky=_jitter(rng, _SKY_RGB, 14),
        building_shift=rng.uniform(-8, 8, 3),
        vegetation=_jitter(rng, _VEGETATION_RGB, 14),
        sidewalk=_jitter(rng, _SIDEWALK_RGB, 14),
        road=_jitter(rng, _ROAD_RGB, 10),
        pole=_jitter(rng, _POLE_RGB, 8),
        car_shift=rng.uniform(-8, 8, 3))


def build_toy_objects(rng: np.random.Generator, width: int,
                      height: int) -> List[ToyObject]:
    """Draw a random scene layout.

    Args:
        rng (np.random.Generator): Source of all randomness for this image.
        width (int): Image width in pixels.
        height (int): Image height in pixels.

    Returns:
        list[ToyObject]: Objects in drawing order; later ones occlude earlier
        ones, and things (cars, persons, poles with signs) are sorted far to
        near so that nearer things are on top.
    """
    lay = _Layout(rng, width, height)
    palette = _palette(rng)
    objects = _background(lay, palette) + _ground(lay, palette)
    things = []
    for source in (_cars, _persons, _poles):
        things.extend(source(lay, palette))
    # A stable sort keeps each pole before its own sign.
    things.sort(key=lambda item: item[0])
    for _, group in things:
        objects.extend(group)
    return objects


def rasterize_objects(objects: Sequence[ToyObject], width: int,
                      height: int) -> np.ndarray:
    """Index map of the visible object at each pixel (0 = none, i + 1 = i-th).

    This is the same PIL polygon fill, in the same order, that
    ``cityscapesscripts.preparation.json2labelImg`` performs, which is what
    makes the painted image agree with the converted label map exactly.
    """
    if len(objects) > 255:
        raise ValueError(f'too many objects ({len(objects)}) for an 8-bit map')
    canvas = Image.new('L', (width, height), 0)
    drawer = ImageDraw.Draw(canvas)
    for index, obj in enumerate(objects):
        drawer.polygon(obj.polygon, fill=index + 1)
    return np.asarray(canvas, dtype=np.uint8)


def _tex_sky(obj, ys, xs, rgb, ctx):
    # Lighter towards the horizon, as in daylight.
    t = (ys / max(obj.params['horizon'], 1))[:, None]
    return rgb + (255 - rgb) * 0.35 * t


def _tex_building(obj, ys, xs, rgb, ctx):
    (ox, oy), (px, py) = obj.params['origin'], obj.params['pitch']
    frac = obj.params['window_frac']
    window = (((xs - ox) % px) < frac * px) & (((ys - oy) % py) < 0.55 * py)
    window &= ys >= oy
    out = np.repeat(rgb[None], len(ys), 0)
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
    out = np.repeat(rgb[None], len(ys), 0)
    out[lane] = _LANE_RGB
    return out


def _tex_pole(obj, ys, xs, rgb, ctx):
    # Cylinder shading: brighter along the axis.
    u = (xs - obj.params['x0']) / obj.params['width']
    return rgb * (0.8 + 0.45 * (1 - np.abs(2 * u - 1)))[:, None]


def _tex_car(obj, ys, xs, rgb, ctx):
    x0, y0, cw, ch = obj.params['box']
    u, v = (xs - x0) / cw, (ys - y0) / ch
    out = np.repeat(rgb[None], len(ys), 0)
    out[(v > 0.06) & (v < 0.36) & (u > 0.25) & (u < 0.75)] = _GLASS_RGB
    out[(v > 0.55) & (v < 0.68) & (u > 0.1) & (u < 0.9)] *= 0.75  # bumper
    wheels = (v > 0.84) & ((u < 0.22) | (u > 0.78))
    out[wheels] = _WHEEL_RGB
    return out


def _tex_person(obj, ys, xs, rgb, ctx):
    v = (ys - obj.params['top']) / obj.params['height']
    out = np.repeat(rgb[None], len(ys), 0)
    out[v < 0.17] = obj.params['skin']
    out[v > 0.58] = obj.params['trousers']
    return out


def _tex_sign(obj, ys, xs, rgb, ctx):
    # A dark rim one pixel wide, like the frame of a real sign.
    inner = cv2.erode(ctx['mask'].astype(np.uint8), np.ones((3, 3), np.uint8))
    out = np.repeat(rgb[None], len(ys), 0)
    out[inner[ys, xs] == 0] = _SIGN_BORDER_RGB
    return out


_TEXTURES: Dict[str, Callable] = dict(
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
        size (tuple[int, int]): ``(width, height)`` in pixels. Defaults to
            ``DEFAULT_SIZE``.

    Returns:
        ToyScene: The image (RGB), its objects and its label map.
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


def toy_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """The generator that draws image ``index`` of ``split`` for ``seed``.

    Seeding per image keeps images independent of how many are generated and
    lets callers re-render any single image.

    Args:
        seed (int): Dataset seed.
        split (str): One of ``SPLITS``.
        index (int): Image index within the split.

    Returns:
        np.random.Generator: A freshly seeded generator.
    """
    return np.random.default_rng([seed, SPLITS.index(split), index])


def toy_image_stem(city: str, frame: int) -> str:
    """Cityscapes file stem, e.g. ``toyburg_000000_000012``."""
    return f'{city}_000000_{frame:06d}'


def _prepare_split_dirs(root: str, split: str, overwrite: bool) -> None:
    for top in ('leftImg8bit', 'gtFine'):
        split_dir = osp.join(root, top, split)
        if osp.isdir(split_dir) and os.listdir(split_dir):
            if not overwrite:
                raise FileExistsError(
                    f'{split_dir} already exists and is not empty; pass '
                    'overwrite=True (--overwrite) to replace the toy split')
            # Only the split folders we are about to regenerate are removed,
            # so a smaller regeneration leaves no stale images behind.
            shutil.rmtree(split_dir)


def generate_toy_cityscapes(root: str,
                            num_train: int = DEFAULT_NUM_TRAIN,
                            num_val: int = DEFAULT_NUM_VAL,
                            size: Tuple[int, int] = DEFAULT_SIZE,
                            seed: int = 0,
                            cities: Sequence[str] = DEFAULT_CITIES,
                            overwrite: bool = False) -> Dict[str, List[str]]:
    """Write a synthetic dataset in the official Cityscapes folder layout.

    Produces ``root/leftImg8bit/<split>/<city>/<stem>_leftImg8bit.png`` and
    ``root/gtFine/<split>/<city>/<stem>_gtFine_polygons.json`` for the train
    and val splits. Label PNGs are not written here: run
    :func:`repvgg_seg.datasets.cityscapes_prep.convert_polygons_to_train_ids`
    afterwards, exactly as for the real dataset.

    Image ``index`` of a split is ``render_toy_scene(toy_rng(seed, split,
    index), size)``, so the output is deterministic for a seed and the first
    ``n`` images do not depend on how many are generated. Frames are dealt
    round-robin over ``cities``: image ``index`` is frame ``index //
    len(cities)`` of city ``cities[index % len(cities)]``.

    Args:
        root (str): Output data root.
        num_train (int): Number of train images. Defaults to 48.
        num_val (int): Number of val images. Defaults to 12.
        size (tuple[int, int]): ``(width, height)``. Defaults to (320, 160).
        seed (int): Random seed. Defaults to 0.
        cities (Sequence[str]): City names; images are dealt round-robin.
            Names must not contain ``_``, which separates the stem fields.
        overwrite (bool): Replace existing non-empty split folders instead of
            raising. Defaults to False.

    Returns:
        dict[str, list[str]]: Written image paths per split.
    """
    if not cities or any('_' in c or not c for c in cities):
        raise ValueError(
            f'cities must be non-empty names without "_", got {cities!r}')
    if num_train < 0 or num_val < 0:
        raise ValueError('num_train and num_val must be >= 0')
    written: Dict[str, List[str]] = {}
    for split, count in zip(SPLITS, (num_train, num_val)):
        _prepare_split_dirs(root, split, overwrite)
        written[split] = []
        for index in range(count):
            city = cities[index % len(cities)]
            stem = toy_image_stem(city, index // len(cities))
            scene = render_toy_scene(toy_rng(seed, split, index), size)
            written[split].append(
                _write_scene(root, split, city, stem, scene))
    return written


def _write_scene(root: str, split: str, city: str, stem: str,
                 scene: ToyScene) -> str:
    img_dir = osp.join(root, 'leftImg8bit', split, city)
    ann_dir = osp.join(root, 'gtFine', split, city)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(ann_dir, exist_ok=True)
    img_path = osp.join(img_dir, f'{stem}_leftImg8bit.png')
    if not cv2.imwrite(img_path, cv2.cvtColor(scene.image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write {img_path}')
    with open(osp.join(ann_dir, f'{stem}_gtFine_polygons.json'), 'w') as f:
        json.dump(scene.to_json(), f, indent=1)
    return img_path
