"""Up-front checks of a segmentation dataset's files, with errors that say what
is missing and how to make it, instead of a failure deep in a data worker."""
import copy
import os.path as osp
from typing import Dict, List

from mmengine.registry import init_default_scope
from mmseg.datasets import BaseSegDataset
from mmseg.registry import DATASETS

from repvgg_seg.process_env import local_rank
from repvgg_seg.text import first_few
from .content_check import Decoders, raise_for_problems, scan_contents

_HINT = ('For the toy demo run `python tools/make_toy_cityscapes.py {root}`; for '
         'Cityscapes unpack leftImg8bit_trainvaltest.zip and '
         'gtFine_trainvaltest.zip into {root} and run '
         '`python tools/prepare_cityscapes.py {root}`.')


class DatasetFilesError(FileNotFoundError):
    """A dataset's folders, images or label maps are missing."""


def leaf_datasets(cfg: Dict) -> List[Dict]:
    """The datasets inside wrappers (ConcatDataset, RepeatDataset...)."""
    if 'datasets' in cfg:
        return [leaf for c in cfg['datasets'] for leaf in leaf_datasets(c)]
    if 'dataset' in cfg:
        return leaf_datasets(cfg['dataset'])
    return [cfg]


def _check_folders(dataset, what: str) -> None:
    """Any mmengine dataset: its data root and prefix folders exist."""
    root = dataset.data_root
    if root and not osp.isdir(root):
        raise DatasetFilesError(f'{what}: data root {root} does not exist.')
    for key, folder in dataset.data_prefix.items():
        if isinstance(folder, str) and folder and not osp.isdir(folder):
            raise DatasetFilesError(
                f'{what}: data_prefix {key}={folder} does not exist.')


def _decoders(pipeline: List[Dict]) -> Decoders:
    """The decoding settings of the pipeline's loading transforms."""
    image = next((t for t in pipeline if t.get('type') == 'LoadImageFromFile'), {})
    labels = next((t for t in pipeline if t.get('type') == 'LoadAnnotations'), {})
    return Decoders(image_backend=image.get('imdecode_backend', 'cv2'),
                    color_type=image.get('color_type', 'color'),
                    label_backend=labels.get('imdecode_backend', 'pillow'))


def allowed_label_values(dataset: BaseSegDataset) -> List[int]:
    """The raw label-map values the dataset turns into classes or ignores."""
    ignore = dataset.ignore_index
    if dataset.label_map:
        return sorted(set(dataset.label_map) | {ignore})
    num_classes = len(dataset.metainfo['classes'])
    if dataset.reduce_zero_label:  # raw 0 is ignored, raw v is class v - 1
        return list(range(num_classes + 1)) + [ignore]
    return list(range(num_classes)) + [ignore]


def check_dataset_files(dataset_cfg: Dict, what: str = 'dataset',
                        default_scope: str = 'mmseg', contents: bool = True) -> int:
    """Check that a dataset's files exist before a run starts.

    Segmentation datasets are checked fully: data root, image and label
    folders, at least one image, and a label map for every image. Other
    datasets (e.g. ImageNet) only get their folders checked here; listing
    them is left to the dataset itself, once.

    Args:
        dataset_cfg (dict): A dataset config, possibly a wrapper.
        what (str): Name used in messages, e.g. ``'train_dataloader'``.
        default_scope (str): Registry scope for building the dataset.
        contents (bool): Also read every image and label map once (see
            :mod:`.content_check`): undecodable files, label maps of another
            size than their image, values that are no class.

    Returns:
        int: Number of segmentation images found (0 for other datasets).

    Raises:
        DatasetFilesError: The data root, image or label folder is missing,
            no image matches the dataset's suffix, or images lack labels.
        DatasetContentError: ``contents`` found broken files or labels.
    """
    init_default_scope(default_scope)
    total = 0
    for leaf in leaf_datasets(dataset_cfg):
        leaf = copy.deepcopy(leaf)
        pipeline_cfg = leaf.get('pipeline') or []
        # serialize_data=False keeps data_list readable after full_init().
        leaf.update(lazy_init=True, pipeline=[], serialize_data=False)
        dataset = DATASETS.build(leaf)
        if not isinstance(dataset, BaseSegDataset):
            _check_folders(dataset, what)
            continue
        root = dataset.data_root or '.'
        hint = _HINT.format(root=root)
        if not osp.isdir(root):
            raise DatasetFilesError(f'{what}: data root {root} does not exist. {hint}')
        img_dir = dataset.data_prefix.get('img_path', '')
        seg_dir = dataset.data_prefix.get('seg_map_path', '')
        for folder, kind in ((img_dir, 'image'), (seg_dir, 'label')):
            if folder and not osp.isdir(folder):
                raise DatasetFilesError(
                    f'{what}: {kind} folder {folder} does not exist. {hint}')
        dataset.full_init()
        if len(dataset) == 0:
            raise DatasetFilesError(
                f'{what}: no images matching *{dataset.img_suffix} under '
                f'{img_dir}. {hint}')
        missing = [info['img_path'] for info in dataset.data_list
                   if info.get('seg_map_path') and
                   not osp.isfile(info['seg_map_path'])]
        if missing:
            raise DatasetFilesError(
                f'{what}: {len(missing)} of {len(dataset)} images have no label '
                f'map (*{dataset.seg_map_suffix} under {seg_dir}): '
                f'{first_few(missing, 5)}. Label maps are made from the polygon '
                f'files by `python tools/prepare_cityscapes.py {root}`.')
        if contents and local_rank() == 0:  # one process per machine reads the data
            pairs = [(info['img_path'], info.get('seg_map_path') or '')
                     for info in dataset.data_list]
            allowed = allowed_label_values(dataset)
            report = scan_contents(pairs, allowed, what,
                                   decoders=_decoders(pipeline_cfg))
            raise_for_problems(report, what, allowed)
        total += len(dataset)
    return total
