"""Export the deployed segmentor to ONNX and check it with onnxruntime.

The graph: normalised RGB float32 input (N, 3, H, W) -> backbone -> decode
head -> logits (N, classes, H, W), bilinearly resized to the input size as
mmseg's encode_decode does (--no-resize: logits at the head's 1/8 size). The
RepVGG blocks are fused and conv+BN pairs folded before export; the
auxiliary head, data pre-processor and arg-max are not in the graph.

    python tools/export_onnx.py configs/pspnet_repvgg_b1g2_fast.py \\
        work_dirs/b1g2_fast/iter_7440.pth --out b1g2_fast.onnx
    python tools/export_onnx.py configs/pspnet_r50.py --random-weights --shape 1024 2048

Batch, height and width stay free in the graph (--static-batch,
--static-shape fix them); --shape is the size of the check input, any size
(pyramid pooling is written out exactly where its bins do not divide the
features). The file evaluates with
`tools/test.py CONFIG FILE.onnx` and segments with `tools/infer.py
--backend onnxruntime`. Exit status 1 when onnxruntime's logits differ from
PyTorch's by a relative max error of 1e-4 or more.
"""
import argparse
import os.path as osp
import sys


from repvgg_seg.apis import build_segmentor, config_name, load_config
from repvgg_seg.deploy import switch_to_deploy
from repvgg_seg.engine.cli import INPUT_ERRORS, add_cfg_options, report_error
from repvgg_seg.export import DEFAULT_OPSET, export_segmentor


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='segmentation config file')
    parser.add_argument('checkpoint', nargs='?', default=None,
                        help='trained weights (training or deploy form)')
    parser.add_argument('--random-weights', action='store_true',
                        help='export with random weights (no checkpoint)')
    parser.add_argument('--out', default=None,
                        help='ONNX file (default: work_dirs/onnx/CONFIG.onnx)')
    parser.add_argument('--shape', nargs=2, type=int, default=[713, 713],
                        metavar=('H', 'W'), help='input size (default 713 713)')
    parser.add_argument('--batch-size', type=int, default=1,
                        help='batch of the check input (the graph keeps the '
                        'batch free unless --static-batch)')
    parser.add_argument('--static-batch', action='store_true',
                        help='fix the batch size in the graph')
    parser.add_argument('--static-shape', action='store_true',
                        help='fix height and width in the graph to --shape')
    parser.add_argument('--no-resize', action='store_true',
                        help='output logits at the decode head\'s stride (1/8) '
                        'instead of the input size')
    parser.add_argument('--opset', type=int, default=DEFAULT_OPSET,
                        help=f'ONNX opset (default {DEFAULT_OPSET})')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if (args.checkpoint is None) == (not args.random_weights):
        print('error: give a checkpoint or --random-weights (not both)',
              file=sys.stderr)
        return 2
    out = args.out or osp.join('work_dirs', 'onnx', config_name(args.config) + '.onnx')
    try:
        model = build_segmentor(load_config(args.config, args.cfg_options),
                                args.checkpoint, 'cpu')
        switch_to_deploy(model)
        result = export_segmentor(
            model, out, (args.batch_size, 3, *args.shape),
            resize_to_input=not args.no_resize, opset=args.opset,
            dynamic_batch=not args.static_batch,
            dynamic_shape=not args.static_shape, config=args.config)
    except INPUT_ERRORS as err:
        return report_error(err, 2)
    free = [name for name, fixed in (('batch', args.static_batch),
                                     ('height', args.static_shape),
                                     ('width', args.static_shape)) if not fixed]
    print(f'wrote {result.path} (opset {result.opset}): input '
          f'{result.input_shape} -> logits {result.output_shape}'
          + (f'; free: {", ".join(free)}' if free else '; all sizes fixed'))
    print(f'onnxruntime vs PyTorch: {result.check}')
    return 0 if result.check.ok else 1


if __name__ == '__main__':
    sys.exit(main())
