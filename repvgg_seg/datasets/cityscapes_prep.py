"""Check the Cityscapes folder layout and convert polygons to trainId maps.

MMSegmentation's ``CityscapesDataset`` reads ``*_gtFine_labelTrainIds.png``
label maps, which the official download does not contain: they are made from
the ``*_gtFine_polygons.json`` annotations by ``cityscapesscripts``. This
module validates the layout first (so a wrong ``data_root`` fails with a
message that names what is missing, instead of an empty dataset later) and
then runs ``cityscapesscripts``' own ``json2labelImg`` in parallel.

Expected layout::

    data_root/
        leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
        gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_polygons.json
"""
import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

from cityscapesscripts.helpers.labels import name2label
import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from mmengine.utils import ProgressBar

IMG_DIR = 'leftImg8bit'
ANN_DIR = 'gtFine'
IMG_SUFFIX = '_leftImg8bit.png'
POLYGON_SUFFIX = '_gtFine_polygons.json'
TRAIN_ID_SUFFIX = '_gtFine_labelTrainIds.png'
# Maps the official evaluation (cityscapesscripts, mmseg's CityscapesMetric)
# reads; the official download ships them, the toy set gets them from here.
LABEL_ID_SUFFIX = '_gtFine_labelIds.png'
INSTANCE_ID_SUFFIX = '_gtFine_instanceIds.png'


def _write_instance_ids(polygon_path: str, out_path: str) -> None:
    """cityscapesscripts' instance rasterisation, saved as 16-bit PNG.

    ``json2instanceImg`` saves a 32-bit PIL image, which Pillow >= 11 no
    longer writes as PNG; the official files are 16-bit, and ids
    (label * 1000 + instance) fit.
    """
    annotation = Annotation()
    annotation.fromJsonFile(polygon_path)
    ids = np.asarray(createInstanceImage(annotation, 'ids'))
    if not cv2.imwrite(out_path, ids.astype(np.uint16)):
        raise OSError(f'could not write {out_path}')


_WRITERS = {
    TRAIN_ID_SUFFIX: lambda src, dst: json2labelImg(src, dst, 'trainIds'),
    LABEL_ID_SUFFIX: lambda src, dst: json2labelImg(src, dst, 'ids'),
    INSTANCE_ID_SUFFIX: _write_instance_ids,
}
DEFAULT_SPLITS: Tuple[str, ...] = ('train', 'val')

# How many missing files an error message lists before summarising.
_MAX_LISTED = 10


class CityscapesLayoutError(FileNotFoundError):
    """The data root does not follow the official Cityscapes layout."""


class CityscapesConversionError(RuntimeError):
    """A polygon annotation could not be converted to a label map."""


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


@dataclass
class ConversionSummary:
    """What :func:`convert_polygons_to_train_ids` did.

    Args:
        layout (dict[str, SplitLayout]): The checked layout per split.
        written (list[str]): Label maps written by this call.
        skipped (list[str]): Label maps that already existed and were kept.
    """

    layout: Dict[str, SplitLayout]
    written: List[str] = field(default_factory=list)
    skipped: List[str] = field(default_factory=list)


def default_nproc() -> int:
    """Worker count for the conversion: the usable CPUs, at most 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not available on macOS / Windows
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


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
    required: they are what :func:`convert_polygons_to_train_ids` creates.

    Args:
        data_root (str): The Cityscapes root (holding ``leftImg8bit`` and
            ``gtFine``).
        splits (Sequence[str]): Splits to check. Defaults to
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


def _unknown_labels(polygon_path: str) -> List[str]:
    with open(polygon_path) as f:
        objects = json.load(f).get('objects', [])
    unknown = set()
    for obj in objects:
        label = obj['label']
        # cityscapesscripts maps e.g. "cargroup" to "car" the same way.
        if label not in name2label and label.endswith('group'):
            label = label[:-len('group')]
        if label not in name2label:
            unknown.add(obj['label'])
    return sorted(unknown)


def _convert_one(task: Tuple[str, str, str]) -> str:
    """Pool worker: one polygon JSON to one label PNG, written atomically."""
    polygon_path, out_path, suffix = task
    try:
        # json2labelImg calls sys.exit() on an unknown label, which would
        # silently kill a pool worker and hang the pool; check first.
        unknown = _unknown_labels(polygon_path)
        if unknown:
            raise ValueError(f'unknown Cityscapes label(s) {unknown}')
        # PIL picks the format from the extension, so keep ".png" last; a
        # temporary name keeps an interrupted run from leaving a truncated
        # label map that a later run would skip as done.
        tmp_path = f'{out_path[:-4]}.tmp{os.getpid()}.png'
        _WRITERS[suffix](polygon_path, tmp_path)
        os.replace(tmp_path, out_path)
    except (Exception, SystemExit) as e:
        raise CityscapesConversionError(
            f'failed to convert {polygon_path}: {e}') from None
    return out_path


def _run_tasks(tasks: List[Tuple[str, str]], nproc: int,
               show_progress: bool) -> List[str]:
    bar = None
    if show_progress and tasks:
        # Looked up at call time so that a redirected stdout is honoured.
        bar = ProgressBar(len(tasks), file=sys.stdout)
    done: List[str] = []

    def collect(results) -> None:
        for path in results:
            done.append(path)
            if bar is not None:
                bar.update()

    if nproc <= 1 or len(tasks) <= 1:
        collect(map(_convert_one, tasks))
    else:
        # Leaving the context terminates the workers, also when a task fails.
        with Pool(min(nproc, len(tasks))) as pool:
            collect(pool.imap_unordered(_convert_one, tasks, chunksize=4))
    if bar is not None:
        sys.stdout.write('\n')
    return sorted(done)


def convert_polygons_to_train_ids(
        data_root: str,
        splits: Sequence[str] = DEFAULT_SPLITS,
        nproc: Optional[int] = None,
        overwrite: bool = False,
        show_progress: bool = True,
        with_eval_maps: bool = False) -> ConversionSummary:
    """Write ``*_gtFine_labelTrainIds.png`` next to every polygon JSON.

    The layout is checked first with :func:`check_cityscapes_layout`. The
    conversion itself is ``cityscapesscripts``'
    ``json2labelImg(json, png, 'trainIds')``, run in ``nproc`` processes.

    Args:
        data_root (str): The Cityscapes root.
        splits (Sequence[str]): Splits to convert. Defaults to
            ``('train', 'val')``.
        nproc (int, optional): Worker processes; 1 converts in this
            process. Defaults to None: :func:`default_nproc`.
        overwrite (bool): Re-create label maps that already exist.
            Defaults to False.
        show_progress (bool): Print a progress bar to stdout.
            Defaults to True.
        with_eval_maps (bool): Also write ``*_gtFine_labelIds.png`` and
            ``*_gtFine_instanceIds.png`` (cityscapesscripts' label and
            instance rasterisation), which the official evaluation
            (``--metric cityscapes``) reads. Defaults to False.

    Returns:
        ConversionSummary: The layout, and the label maps written and
        skipped.

    Raises:
        CityscapesLayoutError: If the layout check fails.
        CityscapesConversionError: If an annotation cannot be converted.
    """
    layout = check_cityscapes_layout(data_root, splits)
    summary = ConversionSummary(layout)
    tasks = []
    suffixes = [TRAIN_ID_SUFFIX]
    if with_eval_maps:
        suffixes += [LABEL_ID_SUFFIX, INSTANCE_ID_SUFFIX]
    for split_layout in layout.values():
        for polygon in split_layout.polygons:
            for suffix in suffixes:
                out = polygon[:-len(POLYGON_SUFFIX)] + suffix
                if not overwrite and osp.isfile(out):
                    summary.skipped.append(out)
                else:
                    tasks.append((polygon, out, suffix))
    if nproc is None:
        nproc = default_nproc()
    if nproc < 1:
        raise ValueError(f'nproc must be >= 1, got {nproc}')
    summary.written = _run_tasks(tasks, nproc, show_progress)
    return summary


def write_split_lists(data_root: str,
                      splits: Sequence[str] = DEFAULT_SPLITS,
                      out_dir: Optional[str] = None) -> Dict[str, str]:
    """Write ``<split>.txt`` image lists usable as a dataset ``ann_file``.

    Each line is ``<city>/<stem>`` (relative to the split folder, without
    suffix), which is what ``BaseSegDataset`` expects of an ``ann_file``.

    Args:
        data_root (str): The Cityscapes root.
        splits (Sequence[str]): Splits to list. Defaults to
            ``('train', 'val')``.
        out_dir (str, optional): Where to write; defaults to ``data_root``.

    Returns:
        dict[str, str]: The written file per split.
    """
    layout = check_cityscapes_layout(data_root, splits)
    out_dir = data_root if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    written = {}
    for split, split_layout in layout.items():
        img_split = osp.join(data_root, IMG_DIR, split)
        lines = [
            osp.relpath(p, img_split)[:-len(IMG_SUFFIX)].replace(os.sep, '/')
            for p in split_layout.images
        ]
        path = osp.join(out_dir, f'{split}.txt')
        with open(path, 'w') as f:
            f.writelines(line + '\n' for line in lines)
        written[split] = path
    return written
