"""What a synthetic street scene contains: its objects and their polygons.

A scene is a list of :class:`ToyObject` in drawing order: sky, buildings and
trees, the ground (sidewalk, road), then the things (cars, persons, poles with
traffic signs) sorted far to near. Each object carries its Cityscapes label,
its polygon in integer pixels (as in real ``gtFine`` annotations), its base
colour and the texture :mod:`repvgg_seg.toydata.street_painting` gives it.
All randomness comes from one generator in a fixed order.
"""
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

import numpy as np
from cityscapesscripts.helpers.labels import name2label

#: Cityscapes label names drawn by the generator (stuff first, then things).
TOY_LABELS: Tuple[str, ...] = ('road', 'sidewalk', 'building', 'pole',
                               'traffic sign', 'vegetation', 'sky', 'person',
                               'car')
#: trainId of each toy label, taken from cityscapesscripts' own label table.
TOY_TRAIN_IDS: Dict[str, int] = {
    name: name2label[name].trainId for name in TOY_LABELS}
#: The sorted trainIds that can appear in a converted toy label map (besides
#: 255, which the toy scenes never produce but real data does).
TOY_TRAIN_ID_SET: Tuple[int, ...] = tuple(sorted(TOY_TRAIN_IDS.values()))

#: Default ``(width, height)``; 2:1 like Cityscapes' 2048x1024.
DEFAULT_SIZE: Tuple[int, int] = (320, 160)

# Base RGB colour of each label, far apart so a tiny network can learn them.
# Jitter is added per image and object, and the painter's textures (windows,
# lane marks, foliage, clothing) keep colour alone from being enough.
_SKY_RGB = (118, 168, 222)
_BUILDING_RGBS = ((150, 138, 126), (168, 112, 92), (128, 126, 136),
                  (182, 166, 138))
_VEGETATION_RGB = (62, 122, 40)
_TRUNK_RGB = (84, 74, 44)
_SIDEWALK_RGB = (196, 170, 178)
_ROAD_RGB = (86, 86, 92)
_POLE_RGB = (52, 58, 70)
_SIGN_RGBS = ((232, 198, 28), (236, 176, 24))
_CAR_RGBS = ((24, 44, 164), (28, 92, 172), (22, 24, 118))
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
_FloatPoints = List[Tuple[float, float]]
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
        """Image row of a ground point (depth 0: horizon, 1: bottom row)."""
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


def _jitter_one_of(rng: np.random.Generator,
                   rgbs: Sequence[Sequence[float]],
                   amount: float) -> np.ndarray:
    """A jittered copy of a randomly picked base colour (pick drawn first)."""
    return _jitter(rng, rgbs[rng.integers(len(rgbs))], amount)


def _box(x0: float, y0: float, x1: float, y1: float) -> _FloatPoints:
    """An axis-aligned rectangle, clockwise from the top-left corner."""
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


def _place(outline: Sequence[Tuple[float, float]], x: float, y: float,
           width: float, height: float) -> _FloatPoints:
    """Scale a ``(u, v)`` unit outline into the box at ``(x, y)``."""
    return [(x + u * width, y + v * height) for u, v in outline]


def _around(cx: float, cy: float, rx: float, ry: float, vertices: int,
            phase: float = 0.0,
            scales: Optional[np.ndarray] = None) -> _FloatPoints:
    """Evenly spaced points on an ellipse, each radius times ``scales``."""
    angles = np.linspace(0, 2 * np.pi, vertices, endpoint=False) + phase
    if scales is None:
        scales = np.ones(vertices)
    return [(cx + rx * s * np.cos(a), cy + ry * s * np.sin(a))
            for a, s in zip(angles, scales)]


def _background(lay: _Layout,
                palette: Dict[str, np.ndarray]) -> List[ToyObject]:
    """Sky, buildings, trees and hedges: everything above the ground plane."""
    rng, W, H, hz = lay.rng, lay.width, lay.height, lay.horizon
    objs = [
        ToyObject('sky', lay.clip(_box(0, 0, W, hz)), palette['sky'], 'sky',
                  dict(horizon=hz))
    ]
    x = -rng.uniform(0, 0.1) * W
    while x < W:
        bw = rng.uniform(0.12, 0.3) * W
        top = rng.uniform(0.1 * H, max(0.1 * H, hz - 0.12 * H))
        outline = _box(x, top, x + bw, hz + 2)
        if rng.random() < 0.3:  # gable roof
            outline.insert(1, (x + bw / 2, max(2.0, top - 0.07 * H)))
        rgb = (_jitter_one_of(rng, _BUILDING_RGBS, 10) +
               palette['building_shift'])
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
        trunk = _box(cx - trunk_w / 2, cy, cx + trunk_w / 2, hz + 1)
        objs.append(
            ToyObject('vegetation', lay.clip(trunk),
                      _jitter(rng, _TRUNK_RGB, 8), 'foliage'))
        # Radial noise makes tree crowns look organic rather than geometric.
        crown = _around(cx, cy, rx, ry, 14, scales=rng.uniform(0.88, 1.12, 14))
        objs.append(
            ToyObject('vegetation', lay.clip(crown), palette['vegetation'],
                      'foliage'))
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
    sidewalk = ToyObject('sidewalk', lay.clip(_box(0, hz, W, H)),
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
        outline = _place(_CAR_OUTLINE, x0, y0, cw, ch)
        rgb = _jitter_one_of(rng, _CAR_RGBS, 10)
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
        outline = _place(_PERSON_OUTLINE, cx, y0, pw, ph)
        shirt = _jitter_one_of(rng, _SHIRT_RGBS, 12)
        yield yb, [
            ToyObject('person', lay.clip(outline), shirt, 'person',
                      dict(top=y0, height=ph,
                           skin=_jitter(rng, _SKIN_RGB, 10),
                           trousers=_jitter(rng, _TROUSERS_RGB, 10)))
        ]


def _sign_outline(shape: str, cx: float, cy: float,
                  size: float) -> _FloatPoints:
    r = size / 2
    if shape == 'diamond':
        return [(cx, cy - r), (cx + r, cy), (cx, cy + r), (cx - r, cy)]
    if shape == 'triangle':
        return [(cx - r, cy - 0.8 * r), (cx + r, cy - 0.8 * r), (cx, cy + r)]
    if shape == 'octagon':
        # Turned by half a side so that the octagon has flat top and bottom.
        return _around(cx, cy, r, r, 8, phase=np.pi / 8)
    return _box(cx - r, cy - 0.8 * r, cx + r, cy + 0.8 * r)


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
            ToyObject('pole', lay.clip(_box(x0, top, x1, yb)),
                      palette['pole'], 'pole', dict(x0=x0, width=pw))
        ]
        if rng.random() < 0.65:
            size = max(8.0, pw * rng.uniform(2.8, 3.6))
            shape = ('rect', 'diamond', 'triangle',
                     'octagon')[rng.integers(4)]
            sy = max(top + 0.3 * size, 2 + size / 2)
            sx = float(np.clip(cx, size / 2, W - 1 - size / 2))
            rgb = _jitter_one_of(rng, _SIGN_RGBS, 10)
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
