"""Train a segmentor (or classifier) from a config with MMEngine's runner.

    python tools/train.py configs/pspnet_repvgg_b2.py
    bash tools/dist_train.sh configs/pspnet_repvgg_b2.py 8      # torchrun, 8 GPUs
"""
import argparse
import sys

from repvgg_seg.engine import setup_train_cfg
from repvgg_seg.engine.cli import (add_runner_args, load_config,
                                   parse_runner_args, run_from_cfg)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--resume', action='store_true',
                        help='resume from the latest checkpoint in the work dir '
                        '(with none there, says so and starts from scratch)')
    parser.add_argument('--amp', action='store_true',
                        help='automatic mixed precision training (needs a CUDA GPU)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the lr linearly with the actual batch size')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main() -> int:
    args = parse_args()
    return run_from_cfg(
        lambda: setup_train_cfg(load_config(args.config, args.cfg_options),
                                args.config, work_dir=args.work_dir,
                                resume=args.resume, amp=args.amp,
                                auto_scale_lr=args.auto_scale_lr,
                                launcher=args.launcher,
                                data_check=not args.no_data_check), 'train')


if __name__ == '__main__':
    sys.exit(main())
