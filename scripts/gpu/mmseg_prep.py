"""Sets up MMSegmentation's own benchmark (``tools/analysis_tools/benchmark.py``).

That script (shipped in the mmseg wheel under ``mmseg/.mim/tools/``) needs a
checkpoint file and a config whose test dataloader yields at least 200 images:
it times ``model(inputs, data_samples, mode='predict')`` on images 6..200 at
batch 1 with ``cudnn.benchmark`` off and prints nothing before image 200. For
each config this writes

- a small generated image set in the Cityscapes layout (smooth random images,
  random trainId maps; speed does not depend on the content), repeated with
  mmengine's ``RepeatDataset`` to 200 items and read through the config's own
  test pipeline (Cityscapes: resized to 2048x1024, slide inference with
  713x713 windows);
- a checkpoint of random weights (the model built from the config, as the
  script builds it: training form), so nothing pretends to be trained;
- a plan (``mmseg_plan.json``) with what ran and how many 713x713 windows one
  image costs, so the report can set mmseg's figure beside ours.

    python scripts/gpu/mmseg_prep.py WORK CONFIG [CONFIG ...] [--smoke-shape H W]
"""
import argparse
import json
import math
import os
import sys

import cv2
import numpy as np
import torch

CITY = 'kitcity'
NEEDED_ITEMS = 200  # the script's total_iters


def write_images(root: str, count: int, hw) -> None:
    """``count`` image/label pairs of size ``hw`` under ``root``."""
    h, w = hw
    img_dir = os.path.join(root, 'leftImg8bit', 'val', CITY)
    seg_dir = os.path.join(root, 'gtFine', 'val', CITY)
    os.makedirs(img_dir, exist_ok=True)
    os.makedirs(seg_dir, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(count):
        stem = f'{CITY}_{i:06d}_000019'
        coarse = rng.integers(0, 256, (max(h // 32, 2), max(w // 32, 2), 3), np.uint8)
        image = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
        labels = rng.integers(0, 19, (max(h // 64, 2), max(w // 64, 2)), np.uint8)
        labels = cv2.resize(labels, (w, h), interpolation=cv2.INTER_NEAREST)
        cv2.imwrite(os.path.join(img_dir, f'{stem}_leftImg8bit.png'), image)
        cv2.imwrite(os.path.join(seg_dir, f'{stem}_gtFine_labelTrainIds.png'), labels)


def windows_per_image(test_cfg, hw) -> int:
    """Windows mmseg's slide inference runs on an ``hw`` image (1 for whole)."""
    if not test_cfg or test_cfg.get('mode', 'whole') != 'slide':
        return 1
    (ch, cw), (sh, sw) = test_cfg['crop_size'], test_cfg['stride']
    rows = max(hw[0] - ch + sh - 1, 0) // sh + 1
    cols = max(hw[1] - cw + sw - 1, 0) // sw + 1
    return rows * cols


def prepare(work: str, config: str, data_root: str, hw, count: int, smoke: bool) -> dict:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    name = os.path.splitext(os.path.basename(config))[0]
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    dataset = cfg.test_dataloader.dataset
    dataset.data_root = data_root
    dataset.data_prefix = dict(img_path='leftImg8bit/val', seg_map_path='gtFine/val')
    if smoke:
        # A tiny input everywhere: the pipeline's resize, the pre-processor's padding.
        for step in dataset.pipeline:
            if step.get('type') == 'Resize':
                step['scale'] = (hw[1], hw[0])
        if cfg.model.get('data_preprocessor', {}).get('size'):
            cfg.model.data_preprocessor.size = tuple(hw)
        cfg.test_dataloader.num_workers = 0
        cfg.test_dataloader.persistent_workers = False
    cfg.test_dataloader.dataset = dict(
        type='RepeatDataset', times=math.ceil(NEEDED_ITEMS / count), dataset=dataset)
    cfg.model.pretrained = None
    cfg.work_dir = os.path.join(work, 'raw', f'mmseg_{name}')
    cfg_dir = os.path.join(work, 'mmseg_configs')
    os.makedirs(cfg_dir, exist_ok=True)
    cfg_path = os.path.join(cfg_dir, f'{name}.py')
    cfg.dump(cfg_path)

    from mmseg.registry import MODELS
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    ckpt = os.path.join(work, 'scratch', f'{name}_random.pth')
    torch.save({'state_dict': model.state_dict(),
                'meta': {'note': 'random weights (scripts/gpu/mmseg_prep.py)'}}, ckpt)
    size_mib = os.path.getsize(ckpt) / 2**20
    windows = windows_per_image(cfg.model.get('test_cfg'), hw)
    print(f'{name}: config {cfg_path}, random checkpoint {ckpt} ({size_mib:.0f} MiB), '
          f'{count} images of {hw[1]}x{hw[0]} x{math.ceil(NEEDED_ITEMS / count)}, '
          f'{windows} window(s) per image ({cfg.model.test_cfg.get("mode")})', flush=True)
    return dict(config=config, name=name, derived_config=cfg_path, checkpoint=ckpt,
                work_dir=cfg.work_dir, image_hw=list(hw), images=count,
                test_mode=cfg.model.test_cfg.get('mode'),
                crop_size=list(cfg.model.test_cfg.get('crop_size') or []),
                windows_per_image=windows, form='train (built from the config)')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('work', help='scratch folder of the bench run')
    parser.add_argument('configs', nargs='+')
    parser.add_argument('--smoke-shape', type=int, nargs=2, metavar=('H', 'W'),
                        help='tiny images and input (CPU smoke run)')
    parser.add_argument('--images', type=int, default=10,
                        help='distinct images to write (default 10)')
    args = parser.parse_args(argv)
    # Cityscapes frames are 2048x1024; the configs' test pipeline keeps that size.
    hw = tuple(args.smoke_shape) if args.smoke_shape else (1024, 2048)
    data_root = os.path.join(args.work, 'scratch', 'mmseg_images')
    os.makedirs(os.path.join(args.work, 'scratch'), exist_ok=True)
    write_images(data_root, args.images, hw)
    plan, failed = [], 0
    for config in args.configs:
        try:
            plan.append(prepare(args.work, config, data_root, hw, args.images,
                                bool(args.smoke_shape)))
        except Exception as err:  # noqa: BLE001  (the other configs still run)
            print(f'{config}: FAILED: {type(err).__name__}: {err}', flush=True)
            failed += 1
    with open(os.path.join(args.work, 'raw', 'mmseg_plan.json'), 'w') as f:
        json.dump(plan, f, indent=2)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
