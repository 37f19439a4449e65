"""Segment your own images, a folder of them, or a video.

    python tools/infer.py configs/demo/pspnet_repvgg_toy_cityscapes.py \\
        work_dirs/demo/iter_600.pth photo.png --deploy
    python tools/infer.py CONFIG CKPT images/ --out-dir work_dirs/infer
    python tools/infer.py CONFIG CKPT drive.mp4 --backend onnxruntime
    python tools/infer.py CONFIG model.onnx images/ --backend onnxruntime

For each image NAME: OUT_DIR/labels/NAME.png (trainIds; --label-ids writes
Cityscapes labelIds) and OUT_DIR/overlays/NAME.png; for a video,
OUT_DIR/NAME_overlay.mp4. Pre-processing and whole/slide inference are
mmseg's (mmseg.apis.inference_model). With --backend onnxruntime, CKPT is an
exported .onnx file, or a .pth that is exported first (to OUT_DIR; any input
size). Exit status 1 when an input could not be read (the
others are still segmented).
"""
import argparse
import sys

from repvgg_seg.apis import load_config
from repvgg_seg.engine.cli import INPUT_ERRORS, add_cfg_options, report_error
from repvgg_seg.infer import (BACKENDS, Segmenter, collect_sources,
                              load_inference_model)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config', help='segmentation config file')
    parser.add_argument('checkpoint', help='.pth (either form) or .onnx')
    parser.add_argument('input', help='an image, a folder of images, or a video')
    parser.add_argument('--out-dir', default='work_dirs/infer',
                        help='where to write (default: work_dirs/infer)')
    parser.add_argument('--deploy', action='store_true',
                        help='re-parameterize the PyTorch model once before use')
    parser.add_argument('--backend', choices=BACKENDS, default='pytorch')
    parser.add_argument('--label-ids', action='store_true',
                        help='write Cityscapes labelIds instead of trainIds')
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='opacity of the colour overlay (default 0.5)')
    parser.add_argument('--device', default='cpu', help='PyTorch device')
    parser.add_argument('--non-strict', action='store_true',
                        help='load a checkpoint that does not fully fit the '
                        'model (what fits; the rest is listed)')
    add_cfg_options(parser)
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        cfg = load_config(args.config, args.cfg_options)
        sources = collect_sources(args.input)
        model = load_inference_model(
            cfg, args.checkpoint, args.backend, deploy=args.deploy,
            device=args.device, strict=not args.non_strict,
            export_dir=args.out_dir)
        segmenter = Segmenter(model, args.out_dir, args.label_ids, args.opacity)
    except (*INPUT_ERRORS, RuntimeError) as err:
        return report_error(err)
    summary = segmenter.run(sources, report=lambda m: print(m, file=sys.stderr))
    done = summary.images + summary.frames
    print(f'segmented {summary.images} images and {summary.frames} video frames '
          f'in {summary.seconds:.1f} s ({summary.per_second:.2f} images/s, '
          f'{args.backend}{", deployed" if args.deploy else ""}); '
          f'{len(summary.written)} files in {args.out_dir}')
    if summary.failed:
        print(f'{len(summary.failed)} inputs could not be read (listed above)',
              file=sys.stderr)
    return 1 if summary.failed or not done else 0


if __name__ == '__main__':
    sys.exit(main())
