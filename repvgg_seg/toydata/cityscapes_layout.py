"""Write synthetic street scenes as a small dataset in the Cityscapes layout.

The toy set exists so that the whole pipeline (data preparation, training,
evaluation, deployment) can be exercised in minutes on a CPU without the
11 GB Cityscapes download. Every image is a procedurally drawn street scene
(:mod:`repvgg_seg.toydata.street_geometry`, painted by
:mod:`repvgg_seg.toydata.street_painting`) and its annotation is written in
the exact ``gtFine`` polygon JSON format, so it goes through the same
``cityscapesscripts`` conversion and the same ``mmseg`` ``CityscapesDataset``
as the real data.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .street_geometry import DEFAULT_SIZE
from .street_painting import ToyScene, render_toy_scene

DEFAULT_NUM_TRAIN = 48
DEFAULT_NUM_VAL = 12
DEFAULT_CITIES: Tuple[str, ...] = ('toyburg', 'pixelstadt')
SPLITS: Tuple[str, ...] = ('train', 'val')


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
    """Cityscapes file stem, e.g. ``toyburg_000000_000012``.

    Args:
        city (str): City name (without ``_``).
        frame (int): Frame number within the city.

    Returns:
        str: ``<city>_000000_<frame:06d>``.
    """
    return f'{city}_000000_{frame:06d}'


def gtfine_polygons(scene: ToyScene) -> dict:
    """The scene's ``gtFine_polygons.json`` content.

    Args:
        scene (ToyScene): A rendered scene.

    Returns:
        dict: ``imgHeight``, ``imgWidth`` and ``objects`` (each with its
        ``label`` and ``polygon`` as ``[x, y]`` lists), in the key order of
        the official files.
    """
    height, width = scene.label_map.shape
    return dict(
        imgHeight=height,
        imgWidth=width,
        objects=[
            dict(label=obj.label, polygon=[[x, y] for x, y in obj.polygon])
            for obj in scene.objects
        ])


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
        json.dump(gtfine_polygons(scene), f, indent=1)
    return img_path


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
        num_train (int): Number of train images. Default: 48.
        num_val (int): Number of val images. Default: 12.
        size (tuple[int, int]): ``(width, height)``. Default: (320, 160).
        seed (int): Random seed. Default: 0.
        cities (Sequence[str]): City names; images are dealt round-robin.
            Names must not contain ``_``, which separates the stem fields.
        overwrite (bool): Replace existing non-empty split folders instead of
            raising. Default: False.

    Returns:
        dict[str, list[str]]: Written image paths per split.

    Raises:
        ValueError: On an empty or ``_``-containing city name, a negative
            count or a size below 32x32.
        FileExistsError: If a split folder to write is not empty and
            ``overwrite`` is False.
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
