"""Rewrite a checkpoint: a RepVGG backbone (authors', timm, mmpretrain or
ours) in this project's layout, or a whole trained segmentor re-parameterized.

    python tools/convert_checkpoint.py RepVGG-B1g2-train.pth b1g2.pth
    python tools/convert_checkpoint.py RepVGG-B1g2-train.pth b1g2_deploy.pth --to deploy
    python tools/convert_checkpoint.py work_dirs/x/iter_7440.pth x_deploy.pth \\
        --segmentor configs/pspnet_repvgg_b1g2_fast.py

Backbone files hold ``backbone.*`` (and a classifier's ``head.fc.*``): they
are ImageNet weights for ``init_cfg=Pretrained``. A segmentor file
(``--segmentor CONFIG``) is the whole model in deploy form (every block one
3x3 conv, conv+BN pairs fused; ``--to train`` keeps the training form), for
tools/infer.py, tools/benchmark.py and tools/export_onnx.py. The output never
replaces the input.
"""
import argparse
import sys

from repvgg_seg.apis import load_config, save_segmentor
from repvgg_seg.checkpoint import convert_checkpoint_file
from repvgg_seg.engine.cli import INPUT_ERRORS, report_error


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='checkpoint in any supported layout')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument('--to', choices=('train', 'deploy'), default=None,
                        help="'train' keeps the source form; 'deploy' fuses it "
                        "(default: train for backbones, deploy with --segmentor)")
    parser.add_argument('--segmentor', metavar='CONFIG', default=None,
                        help='SRC is a whole segmentor trained with CONFIG: write '
                        'the whole model (deploy form by default)')
    parser.add_argument('--prefix', default=None,
                        help="only convert keys under this prefix, e.g. 'backbone.'")
    parser.add_argument('--bn-eps', type=float, default=1e-5,
                        help='BatchNorm epsilon used when fusing (default 1e-5)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        if args.segmentor:
            if args.prefix or args.bn_eps != 1e-5:
                raise ValueError('--prefix and --bn-eps are for backbone files; '
                                 'with --segmentor the config sets both')
            deploy = args.to != 'train'
            model = save_segmentor(load_config(args.segmentor), args.src,
                                   args.dst, deploy=deploy)
            print(f'{args.src} -> {args.dst}: whole segmentor '
                  f'({type(model.backbone).__name__} + '
                  f'{type(model.decode_head).__name__}), '
                  f'{"deploy" if deploy else "training"} form, '
                  f'{len(model.state_dict())} tensors')
            return 0
        converted = convert_checkpoint_file(args.src, args.dst, to=args.to or 'train',
                                            prefix=args.prefix, eps=args.bn_eps)
    except INPUT_ERRORS as err:
        return report_error(err)
    print(f'{args.src}: {converted.layout} layout -> {args.dst}: backbone '
          f'checkpoint (repvgg_seg layout, {converted.form} form): '
          f'{len(converted.backbone)} backbone and {len(converted.head)} '
          f'classifier-head tensors; decode heads are not kept (use --segmentor '
          'CONFIG for a whole segmentor)')
    return 0


if __name__ == '__main__':
    sys.exit(main())
