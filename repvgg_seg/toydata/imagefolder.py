"""A tiny synthetic image-folder dataset in the ImageNet layout.

It exists so that the ImageNet pretraining path (dataset, transforms, model,
runner) can be exercised end to end in minutes on a CPU. Each class is a
filled shape in its own hue (circle, square, triangle, cross, ...) drawn at a
random position, size and rotation over a noisy, low-contrast random
background, so a small network separates the classes well above chance after
a short training while the images are not pixel-identical.

Layout written under ``root``::

    train/n00000000/n00000000_0000.png ...
    val/n00000000/n00000000_0000.png ...
    meta/classes.txt   # one class name per line, in label order
    meta/val.txt       # "<class>/<file> <label>" per val image (ann_file)
"""
import os.path as osp
import shutil
from typing import Dict, List, Tuple

import cv2
import numpy as np
from mmengine.utils import mkdir_or_exist

SHAPES: Tuple[str, ...] = ('circle', 'square', 'triangle', 'cross', 'ring',
                           'diamond', 'bars', 'star')
SPLITS: Tuple[str, ...] = ('train', 'val')


def toy_class_names(num_classes: int) -> List[str]:
    """WordNet-id-like names ``n00000000``, ``n00000001``, ...

    Args:
        num_classes (int): Number of classes.

    Returns:
        list[str]: Names, already in sorted (= label) order.
    """
    return [f'n{i:08d}' for i in range(num_classes)]


def _class_color(index: int, num_classes: int) -> Tuple[int, int, int]:
    """A saturated BGR colour with hues spread evenly over the classes."""
    hue = int(180 * index / max(num_classes, 1)) % 180
    hsv = np.array([[[hue, 220, 230]]], dtype=np.uint8)
    b, g, r = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0]
    return int(b), int(g), int(r)


def _polygon(center: Tuple[float, float], radii: List[float],
             angle: float) -> np.ndarray:
    """Vertices at evenly spaced angles with the given radii, cyclically."""
    thetas = angle + 2 * np.pi * np.arange(len(radii)) / len(radii)
    xs = center[0] + np.asarray(radii) * np.cos(thetas)
    ys = center[1] + np.asarray(radii) * np.sin(thetas)
    return np.round(np.stack([xs, ys], axis=1)).astype(np.int32)


# Filled polygon shapes: the radius factor of each vertex, cycled around the
# centre, and a fixed turn added to the random rotation. The rotation is
# uniform, so the turn changes no statistics; it only pins down which exact
# image a seed gives.
_POLYGON_SHAPES: Dict[str, Tuple[Tuple[float, ...], float]] = dict(
    square=((1.0, ) * 4, np.pi / 4),
    diamond=((1.0, 0.55) * 2, 0.0),
    triangle=((1.0, ) * 3, -np.pi / 2),
    star=((1.0, 0.4) * 5, -np.pi / 2))


def _draw_shape(img: np.ndarray, shape: str, center: Tuple[float, float],
                radius: float, angle: float,
                color: Tuple[int, int, int]) -> None:
    """Draw a filled ``shape`` in place."""
    cx, cy = center
    thickness = max(2, int(radius / 3))
    if shape in _POLYGON_SHAPES:
        factors, turn = _POLYGON_SHAPES[shape]
        pts = _polygon(center, [radius * f for f in factors], angle + turn)
        cv2.fillPoly(img, [pts], color, cv2.LINE_AA)
    elif shape == 'circle':
        cv2.circle(img, (int(cx), int(cy)), int(radius), color, -1,
                   cv2.LINE_AA)
    elif shape == 'ring':
        cv2.circle(img, (int(cx), int(cy)), int(radius - thickness / 2),
                   color, thickness, cv2.LINE_AA)
    elif shape == 'cross':
        for theta in (angle, angle + np.pi / 2):
            dx, dy = radius * np.cos(theta), radius * np.sin(theta)
            cv2.line(img, (int(cx - dx), int(cy - dy)),
                     (int(cx + dx), int(cy + dy)), color, thickness,
                     cv2.LINE_AA)
    elif shape == 'bars':
        # Three parallel strokes across the shape's box.
        dx, dy = radius * np.cos(angle), radius * np.sin(angle)
        nx, ny = -np.sin(angle), np.cos(angle)
        for offset in (-0.6, 0.0, 0.6):
            ox, oy = offset * radius * nx, offset * radius * ny
            cv2.line(img, (int(cx - dx + ox), int(cy - dy + oy)),
                     (int(cx + dx + ox), int(cy + dy + oy)), color,
                     max(2, thickness // 2), cv2.LINE_AA)
    else:
        raise ValueError(f'unknown shape {shape!r}; expected one of {SHAPES}')


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth, weakly tinted noise plus a little pixel noise.

    Brightness varies more than hue so that the shapes' saturated class
    colours stay a usable (if not exact) cue.
    """
    base = rng.uniform(60, 190) + rng.normal(0, 15, size=3)
    coarse = (rng.normal(0, 30, size=(4, 4, 1)) +
              rng.normal(0, 10, size=(4, 4, 3))).astype(np.float32)
    smooth = cv2.resize(coarse, (size, size), interpolation=cv2.INTER_CUBIC)
    fine = rng.normal(0, 8, size=(size, size, 3))
    return np.clip(base + smooth + fine, 0, 255).astype(np.uint8)


def render_toy_image(rng: np.random.Generator, class_index: int,
                     num_classes: int, size: int) -> np.ndarray:
    """Render one BGR uint8 ``(size, size, 3)`` sample of ``class_index``.

    Args:
        rng (np.random.Generator): Source of all randomness of the sample.
        class_index (int): Label; picks the shape and the hue.
        num_classes (int): Number of classes (spreads the hues).
        size (int): Side length in pixels.

    Returns:
        np.ndarray: The image.
    """
    img = _background(rng, size)
    shape = SHAPES[class_index % len(SHAPES)]
    # Jitter the class colour so that hue is a cue but not an exact one.
    color = tuple(
        int(np.clip(c + rng.normal(0, 12), 0, 255))
        for c in _class_color(class_index, num_classes))
    radius = rng.uniform(0.18, 0.34) * size
    margin = radius * 0.8
    center = (rng.uniform(margin, size - margin),
              rng.uniform(margin, size - margin))
    _draw_shape(img, shape, center, radius, rng.uniform(0, 2 * np.pi), color)
    return img


def _prepare_root(root: str, overwrite: bool) -> None:
    taken = [d for d in (*SPLITS, 'meta') if osp.exists(osp.join(root, d))]
    if taken and not overwrite:
        raise FileExistsError(
            f'{root!r} already holds {taken}; pass overwrite=True (or '
            '--overwrite) to replace them')
    for d in taken:
        shutil.rmtree(osp.join(root, d))


def generate_toy_imagefolder(root: str,
                             num_classes: int = 4,
                             train_per_class: int = 64,
                             val_per_class: int = 16,
                             size: int = 64,
                             seed: int = 0,
                             ext: str = 'png',
                             overwrite: bool = False) -> Dict[str, object]:
    """Write the toy dataset under ``root`` (see the module docstring).

    Every image is drawn from its own generator seeded by ``(seed, split,
    class, index)``, so the output is identical for the same arguments and
    adding images or classes does not change the existing ones.

    Args:
        root (str): Output folder, created if needed.
        num_classes (int): Number of classes (shapes repeat, in other hues,
            beyond 8). Default: 4.
        train_per_class (int): Training images per class. Default: 64.
        val_per_class (int): Validation images per class. Default: 16.
        size (int): Image side in pixels. Default: 64.
        seed (int): Seed of the whole dataset. Default: 0.
        ext (str): 'png' (lossless, byte-identical per seed) or 'jpg'.
            Default: 'png'.
        overwrite (bool): Replace existing ``train/``, ``val/`` and ``meta/``
            folders under ``root`` instead of refusing. Default: False.

    Returns:
        dict: ``root``, ``classes`` (list of names), ``num_train``,
        ``num_val``, ``classes_file`` and ``val_ann_file`` (paths).

    Raises:
        ValueError: On a bad count, a size below 16 or an unknown ``ext``.
        FileExistsError: If ``root`` already holds ``train/``, ``val/`` or
            ``meta/`` and ``overwrite`` is False.
        OSError: If an image cannot be written.
    """
    if num_classes < 1 or train_per_class < 0 or val_per_class < 0:
        raise ValueError('num_classes must be >= 1 and the per-class counts '
                         '>= 0')
    if size < 16:
        raise ValueError(f'size must be >= 16 to draw recognisable shapes, '
                         f'got {size}')
    ext = ext.lower().lstrip('.')
    if ext not in ('png', 'jpg', 'jpeg'):
        raise ValueError(f"ext must be 'png' or 'jpg', got {ext!r}")
    _prepare_root(root, overwrite)
    names = toy_class_names(num_classes)
    counts = dict(train=train_per_class, val=val_per_class)
    val_lines = []
    for split_id, split in enumerate(SPLITS):
        if counts[split] == 0:
            continue
        for label, name in enumerate(names):
            folder = osp.join(root, split, name)
            mkdir_or_exist(folder)
            for i in range(counts[split]):
                rng = np.random.default_rng([seed, split_id, label, i])
                img = render_toy_image(rng, label, num_classes, size)
                filename = f'{name}_{i:04d}.{ext}'
                path = osp.join(folder, filename)
                if not cv2.imwrite(path, img):
                    raise OSError(f'could not write {path}')
                if split == 'val':
                    val_lines.append(f'{name}/{filename} {label}\n')
    meta = osp.join(root, 'meta')
    mkdir_or_exist(meta)
    classes_file = osp.join(meta, 'classes.txt')
    val_ann_file = osp.join(meta, 'val.txt')
    with open(classes_file, 'w', encoding='utf-8') as f:
        f.writelines(n + '\n' for n in names)
    with open(val_ann_file, 'w', encoding='utf-8') as f:
        f.writelines(val_lines)
    return dict(
        root=root,
        classes=names,
        num_train=num_classes * train_per_class,
        num_val=num_classes * val_per_class,
        classes_file=classes_file,
        val_ann_file=val_ann_file)
