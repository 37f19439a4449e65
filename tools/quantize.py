"""INT8 post-training quantization, scored and timed against fp32.

    python tools/quantize.py configs/demo/pspnet_qarepvgg_toy_cityscapes.py \\
        work_dirs/demo_qarepvgg/iter_600.pth --out-dir work_dirs/int8_qa

Exports the deployed model (fp32 ONNX), calibrates activation ranges on
--calib-num training images run through the test pipeline (no augmentation),
writes a per-channel QDQ INT8 model with onnxruntime.quantization, tests both
on the test split with mmseg's metric, times both with the same threads, and
writes OUT_DIR/quantize.json. Each .onnx also runs in tools/test.py and
tools/infer.py --backend onnxruntime.
"""
import argparse
import sys

import torch

from repvgg_seg.engine.cli import INPUT_ERRORS, add_cfg_options, report_error
from repvgg_seg.export.int8 import METHODS
from repvgg_seg.quantize import quantize_config


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='segmentation config file')
    parser.add_argument('checkpoint', help='trained weights (either form)')
    parser.add_argument('--out-dir', required=True, help='where to write')
    parser.add_argument('--calib-num', type=int, default=32,
                        help='training images to calibrate on (default 32)')
    parser.add_argument('--method', choices=METHODS, default='minmax',
                        help='activation-range calibration (default minmax)')
    parser.add_argument('--shape', nargs=2, type=int, default=None,
                        metavar=('H', 'W'), help='size to time at (default: '
                        'the network input size of the first calibration image)')
    parser.add_argument('--no-eval', action='store_true',
                        help='skip testing both models on the test split')
    parser.add_argument('--iters', type=int, default=10,
                        help='timed runs per round (default 10, 3 rounds)')
    parser.add_argument('--threads', type=int, default=None,
                        help='threads for PyTorch and onnxruntime alike')
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint that does not fully fit')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        report = quantize_config(
            args.config, args.checkpoint, args.out_dir, args.calib_num,
            args.method, tuple(args.shape) if args.shape else None,
            args.cfg_options, evaluate=not args.no_eval, iters=args.iters,
            strict=not args.non_strict, progress=lambda m: print(m, flush=True))
    except (*INPUT_ERRORS, RuntimeError) as err:
        return report_error(err)
    print()
    print(report.table())
    print(f'wrote {args.out_dir}/quantize.json')
    return 0


if __name__ == '__main__':
    sys.exit(main())
