"""Calibration inputs: what the network sees at test time, from training images.

The INT8 ranges must come from the inputs the deployed network will meet, so
calibration images go through the config's *test* pipeline and
pre-processor (no augmentation) and through mmseg's whole or slide
inference; the tensors reaching the network (the whole image, or each slide
crop) are recorded. The images come from the training split, so the test
split that scores the result stays unseen.
"""
import copy
from typing import List

import numpy as np
from mmengine.config import Config
from mmseg.apis import inference_model
from mmseg.registry import DATASETS
from torch import Tensor, nn

from repvgg_seg.datasets.checks import check_dataset_files, leaf_datasets
from repvgg_seg.export.int8 import CalibrationError
from repvgg_seg.infer import read_image


def calibration_images(cfg: Config, num: int,
                       split: str = 'train_dataloader') -> List[str]:
    """``num`` image files spread evenly over the split (deterministic).

    Raises:
        CalibrationError: The split is missing from the config or empty.
        DatasetFilesError: Its folders or files are missing (named).
    """
    if num < 1:
        raise CalibrationError(f'--calib-num must be at least 1, got {num}')
    loader = cfg.get(split)
    if not loader:
        raise CalibrationError(f'the config has no {split} to calibrate on')
    check_dataset_files(loader['dataset'], split, cfg.get('default_scope', 'mmseg'),
                        contents=False)
    # Inside wrappers (RepeatDataset, ConcatDataset) the first part suffices.
    dataset_cfg = copy.deepcopy(leaf_datasets(loader['dataset'])[0])
    dataset_cfg.update(pipeline=[], lazy_init=False, serialize_data=False)
    dataset = DATASETS.build(dataset_cfg)
    if len(dataset) == 0:
        raise CalibrationError(f'{split}: the dataset is empty, nothing to '
                               'calibrate on')
    picks = np.linspace(0, len(dataset) - 1, min(num, len(dataset)))
    return [dataset.get_data_info(int(round(i)))['img_path'] for i in picks]


def network_inputs(model: nn.Module, images: List[str]) -> List[np.ndarray]:
    """The tensors ``model``'s network receives when mmseg segments ``images``
    (one per image in whole mode, one per crop in slide mode).

    Args:
        model (nn.Module): A segmentor from
            :func:`repvgg_seg.apis.init_segmentor`.
        images (list[str]): Image files.

    Returns:
        list[ndarray]: Float32 batches ``(1, 3, H, W)``.
    """
    recorded: List[np.ndarray] = []
    encode_decode = model.encode_decode

    def record(inputs: Tensor, batch_img_metas):
        recorded.extend(x[None].detach().cpu().numpy().astype(np.float32)
                        for x in inputs)
        return encode_decode(inputs, batch_img_metas)

    model.encode_decode = record
    try:
        for path in images:
            inference_model(model, read_image(path))
    finally:
        del model.encode_decode  # back to the class's method
    return recorded
