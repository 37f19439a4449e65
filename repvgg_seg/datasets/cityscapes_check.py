"""Check the official Cityscapes folder layout before anything reads it.

A wrong ``data_root`` then fails with a message that names what is missing,
instead of an empty dataset later.

Expected layout::

    data_root/
        leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json
"""
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

IMG_DIR = 'leftImg8bit'
ANN_DIR = 'gtFine'
IMG_SUFFIX = '_leftImg8bit.png'
POLYGON_SUFFIX = '_gtFine_polygons.json'
TRAIN_ID_SUFFIX = '_gtFine_labelTrainIds.png'
DEFAULT_SPLITS: Tuple[str, ...] = ('train', 'val')

# How many missing files an error message lists before summarising.
_MAX_LISTED = 10


class CityscapesLayoutError(FileNotFoundError):
    """The data root does not follow the official Cityscapes layout."""


@dataclass
class SplitLayout:
    """The images and annotations found for one split.

    Args:
        split (str): Split name, e.g. ``'train'``.
        cities (list[str]): City folders that hold at least one image.
        images (list[str]): Image paths, sorted.
        polygons (list[str]): The matching polygon JSON paths, same order.
    """

    split: str
    cities: List[str] = field(default_factory=list)
    images: List[str] = field(default_factory=list)
    polygons: List[str] = field(default_factory=list)

    @property
    def num_images(self) -> int:
        return len(self.images)

    @property
    def train_id_maps(self) -> List[str]:
        """Where each image's trainId label map is (or will be) written."""
        return [train_id_path(p) for p in self.polygons]


def train_id_path(polygon_path: str) -> str:
    """The ``*_gtFine_labelTrainIds.png`` path for a polygon JSON path."""
    if not polygon_path.endswith(POLYGON_SUFFIX):
        raise ValueError(f'not a gtFine polygon file: {polygon_path}')
    return polygon_path[:-len(POLYGON_SUFFIX)] + TRAIN_ID_SUFFIX


def _require_dir(path: str, what: str) -> None:
    if not osp.isdir(path):
        state = 'is not a directory' if osp.exists(path) else 'does not exist'
        raise CityscapesLayoutError(f'{what} {state}: {path}')


def _list_dir(path: str) -> List[str]:
    return sorted(os.listdir(path))


def _scan_split(data_root: str, split: str) -> SplitLayout:
    img_split = osp.join(data_root, IMG_DIR, split)
    ann_split = osp.join(data_root, ANN_DIR, split)
    _require_dir(img_split, f'Cityscapes split folder {IMG_DIR}/{split}')
    _require_dir(ann_split, f'Cityscapes split folder {ANN_DIR}/{split}')

    layout = SplitLayout(split)
    missing: List[str] = []
    for city in _list_dir(img_split):
        city_dir = osp.join(img_split, city)
        if not osp.isdir(city_dir):
            continue
        names = [n for n in _list_dir(city_dir) if n.endswith(IMG_SUFFIX)]
        if names:
            layout.cities.append(city)
        for name in names:
            stem = name[:-len(IMG_SUFFIX)]
            polygon = osp.join(ann_split, city, stem + POLYGON_SUFFIX)
            layout.images.append(osp.join(city_dir, name))
            layout.polygons.append(polygon)
            if not osp.isfile(polygon):
                missing.append(osp.relpath(polygon, data_root))

    if not layout.images:
        raise CityscapesLayoutError(_empty_split_message(img_split, split))
    if missing:
        listed = '\n  '.join(missing[:_MAX_LISTED])
        more = len(missing) - _MAX_LISTED
        tail = f'\n  ... and {more} more' if more > 0 else ''
        raise CityscapesLayoutError(
            f'{len(missing)} of {layout.num_images} images in split '
            f'"{split}" have no polygon annotation in {ANN_DIR}/{split}; '
            f'missing:\n  {listed}{tail}')
    return layout


def _empty_split_message(img_split: str, split: str) -> str:
    msg = (f'no images (*{IMG_SUFFIX}) found in split "{split}": expected '
           f'{img_split}/<city>/<city>_<seq>_<frame>{IMG_SUFFIX}')
    # Images dropped straight into the split folder are a common mistake.
    flat = [n for n in _list_dir(img_split) if n.endswith(IMG_SUFFIX)]
    if flat:
        msg += (f' (found {len(flat)} directly in {img_split}; they must be '
                'in per-city sub-folders)')
    return msg


def check_cityscapes_layout(
        data_root: str,
        splits: Sequence[str] = DEFAULT_SPLITS) -> Dict[str, SplitLayout]:
    """Verify the official Cityscapes layout under ``data_root``.

    Every ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` must have its
    ``gtFine/<split>/<city>/*_gtFine_polygons.json``. Label PNGs are not
    required: they are what
    :func:`~.cityscapes_prep.convert_polygons_to_train_ids` creates.

    Args:
        data_root (str): The Cityscapes root (holding ``leftImg8bit`` and
            ``gtFine``).
        splits (Sequence[str]): Splits to check. Default:
            ``('train', 'val')``.

    Returns:
        dict[str, SplitLayout]: The images and annotations found per split.

    Raises:
        CityscapesLayoutError: If the root, ``leftImg8bit``, ``gtFine`` or a
            split folder is missing, a split holds no images, or images lack
            their polygon JSON. The message says exactly what is missing.
    """
    data_root = osp.expanduser(str(data_root))
    _require_dir(data_root, 'Cityscapes data root')
    absent = [d for d in (IMG_DIR, ANN_DIR)
              if not osp.isdir(osp.join(data_root, d))]
    if absent:
        raise CityscapesLayoutError(
            f'Cityscapes data root {data_root} has no '
            f'{" or ".join(d + "/" for d in absent)} folder; expected '
            f'{IMG_DIR}/ (leftImg8bit_trainvaltest.zip) and {ANN_DIR}/ '
            '(gtFine_trainvaltest.zip) side by side')
    if not splits:
        raise ValueError('splits must name at least one split')
    return {split: _scan_split(data_root, split) for split in splits}
