"""Convert Cityscapes polygons to the label maps mmseg reads, and list splits.

MMSegmentation's ``CityscapesDataset`` reads ``*_gtFine_labelTrainIds.png``
label maps, which the official download does not contain: they are made from
the ``*_gtFine_polygons.json`` annotations by ``cityscapesscripts``. The
layout is validated first (:mod:`.cityscapes_check`), then
``cityscapesscripts``' own ``json2labelImg`` runs in parallel.
"""
import json
import os
import os.path as osp
import sys
from dataclasses import dataclass, field
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import name2label
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from mmengine.utils import ProgressBar

from repvgg_seg.process_env import usable_cpus
from .cityscapes_check import (DEFAULT_SPLITS, IMG_DIR, IMG_SUFFIX,
                               POLYGON_SUFFIX, TRAIN_ID_SUFFIX, SplitLayout,
                               check_cityscapes_layout)

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


class CityscapesConversionError(RuntimeError):
    """A polygon annotation could not be converted to a label map."""


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


def _run_tasks(tasks: List[Tuple[str, str, str]], nproc: int,
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
        splits (Sequence[str]): Splits to convert. Default:
            ``('train', 'val')``.
        nproc (int, optional): Worker processes; 1 converts in this
            process. Default: None: :func:`repvgg_seg.process_env.usable_cpus`.
        overwrite (bool): Re-create label maps that already exist.
            Default: False.
        show_progress (bool): Print a progress bar to stdout.
            Default: True.
        with_eval_maps (bool): Also write ``*_gtFine_labelIds.png`` and
            ``*_gtFine_instanceIds.png`` (cityscapesscripts' label and
            instance rasterisation), which the official evaluation
            (``--metric cityscapes``) reads. Default: False.

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
        nproc = usable_cpus()
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
        splits (Sequence[str]): Splits to list. Default:
            ``('train', 'val')``.
        out_dir (str, optional): Where to write. Default: None:
            ``data_root``.

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
