"""Rewrite a RepVGG checkpoint (authors', timm, mmpretrain or ours) in this
project's layout, in training form or fused deploy form.

    python tools/convert_checkpoint.py RepVGG-B1g2-train.pth b1g2.pth
    python tools/convert_checkpoint.py RepVGG-B1g2-train.pth b1g2_deploy.pth --to deploy
"""
import argparse
import pickle
import sys

from repvgg_seg.checkpoint import convert_checkpoint_file


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('src', help='checkpoint in any supported layout')
    parser.add_argument('dst', help='where to write the converted checkpoint')
    parser.add_argument('--to', choices=('train', 'deploy'), default='train',
                        help="'train' keeps the source form; 'deploy' fuses it")
    parser.add_argument('--prefix', default=None,
                        help="only convert keys under this prefix, e.g. 'backbone.'")
    parser.add_argument('--bn-eps', type=float, default=1e-5,
                        help='BatchNorm epsilon used when fusing (default 1e-5)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        converted = convert_checkpoint_file(args.src, args.dst, to=args.to,
                                            prefix=args.prefix, eps=args.bn_eps)
    except (OSError, ValueError, pickle.UnpicklingError) as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(f'{args.src}: {converted.layout} layout -> {args.dst}: repvgg_seg layout, '
          f'{converted.form} form, {len(converted.backbone)} backbone and '
          f'{len(converted.head)} head tensors')
    return 0


if __name__ == '__main__':
    sys.exit(main())
