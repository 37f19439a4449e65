"""Test a checkpoint; with --deploy, test the re-parameterized plain model.

    python tools/test.py configs/pspnet_repvgg_b2.py work_dirs/x/iter_7440.pth --deploy
    python tools/test.py CONFIG CKPT --metric cityscapes     # official evaluation
    python tools/test.py CONFIG model.onnx                   # exported fp32 or INT8

An .onnx file (tools/export_onnx.py, tools/quantize.py) runs in the same test
loop with onnxruntime doing the network forward, so it gets the same metric.
"""
import argparse
import sys

from repvgg_seg.engine import setup_test_cfg
from repvgg_seg.engine.cli import (add_runner_args, load_config,
                                   parse_runner_args, run_from_cfg)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file (.pth), or an '
                        'exported model (.onnx)')
    parser.add_argument('--deploy', action='store_true',
                        help='re-parameterize the whole model (RepVGG blocks, '
                        'conv+BN pairs of backbone and heads) before testing')
    parser.add_argument('--metric', choices=['iou', 'cityscapes', 'both'],
                        default='iou', help="'cityscapes' runs the official "
                        'cityscapesscripts evaluation')
    parser.add_argument('--out', help='dir to write predicted label maps to')
    parser.add_argument('--show', action='store_true',
                        help='show predictions in a window (needs a display)')
    parser.add_argument('--non-strict', action='store_true',
                        help='test a checkpoint that does not fully fit the '
                        'model: load what fits (mmengine\'s behaviour), the '
                        'rest stays random; the default refuses it')
    parser.add_argument('--show-dir', help='dir to write colour overlays to')
    parser.add_argument('--wait-time', type=float, default=2,
                        help='interval of --show (s)')
    parser.add_argument('--tta', action='store_true',
                        help='multi-scale and flip test-time augmentation')
    add_runner_args(parser)
    return parse_runner_args(parser)


def main() -> int:
    args = parse_args()
    return run_from_cfg(
        lambda: setup_test_cfg(load_config(args.config, args.cfg_options),
                               args.config, args.checkpoint,
                               work_dir=args.work_dir, out=args.out,
                               show=args.show, show_dir=args.show_dir,
                               wait_time=args.wait_time, tta=args.tta,
                               deploy=args.deploy, metric=args.metric,
                               launcher=args.launcher,
                               strict=not args.non_strict,
                               data_check=not args.no_data_check), 'test')


if __name__ == '__main__':
    sys.exit(main())
