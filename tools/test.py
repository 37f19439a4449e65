"""Test a checkpoint; with --deploy, test the re-parameterized plain model.

    python tools/test.py configs/pspnet_repvgg_b2.py work_dirs/x/iter_7440.pth --deploy
    python tools/test.py CONFIG CKPT --metric cityscapes     # official evaluation
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from repvgg_seg.engine import setup_test_cfg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--deploy', action='store_true',
                        help='re-parameterize the whole model (RepVGG blocks, '
                        'conv+BN pairs of backbone and heads) before testing')
    parser.add_argument('--metric', choices=['iou', 'cityscapes', 'both'],
                        default='iou', help="'cityscapes' runs the official "
                        'cityscapesscripts evaluation')
    parser.add_argument('--work-dir', help='the dir to save logs and metrics')
    parser.add_argument('--out', help='dir to write predicted label maps to')
    parser.add_argument('--show', action='store_true', help='show predictions')
    parser.add_argument('--show-dir', help='dir to write colour overlays to')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='interval of --show (s)')
    parser.add_argument('--tta', action='store_true',
                        help='multi-scale and flip test-time augmentation')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config settings, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> int:
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options is not None:
        cfg.merge_from_dict(args.cfg_options)
    try:
        setup_test_cfg(cfg, args.config, args.checkpoint, work_dir=args.work_dir,
                       out=args.out, show=args.show, show_dir=args.show_dir,
                       wait_time=args.wait_time, tta=args.tta, deploy=args.deploy,
                       metric=args.metric, launcher=args.launcher)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg
              else RUNNERS.build(cfg))
    runner.test()
    return 0


if __name__ == '__main__':
    sys.exit(main())
