"""Train a segmentor (or classifier) from a config with MMEngine's runner.

    python tools/train.py configs/pspnet_repvgg_b2.py
    bash tools/dist_train.sh configs/pspnet_repvgg_b2.py 8      # torchrun, 8 GPUs
"""
import argparse
import os
import sys

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from repvgg_seg.engine import setup_train_cfg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='enable automatic mixed precision training')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the actual batch size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_cfg.max_iters=100 model.backbone.init_cfg=None)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
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
        setup_train_cfg(cfg, args.config, work_dir=args.work_dir,
                        resume=args.resume, amp=args.amp,
                        auto_scale_lr=args.auto_scale_lr, launcher=args.launcher)
    except (FileNotFoundError, ValueError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    runner = (Runner.from_cfg(cfg) if 'runner_type' not in cfg
              else RUNNERS.build(cfg))
    runner.train()
    return 0


if __name__ == '__main__':
    sys.exit(main())
