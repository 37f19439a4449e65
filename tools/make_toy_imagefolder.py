"""Write the synthetic ImageNet-layout toy dataset used for quick CPU runs.

    python tools/make_toy_imagefolder.py data/toy_imagenet
    python tools/make_toy_imagefolder.py data/toy8 --num-classes 8 --size 48

See repvgg_seg/toydata/imagefolder.py for what the images look like.
"""
import argparse
import sys

from repvgg_seg.engine.cli import report_error
from repvgg_seg.toydata.imagefolder import generate_toy_imagefolder


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='dataset root to write')
    parser.add_argument('--num-classes', type=int, default=4)
    parser.add_argument('--train-per-class', type=int, default=64)
    parser.add_argument('--val-per-class', type=int, default=16)
    parser.add_argument('--size', type=int, default=64,
                        help='image side in pixels (default 64)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--ext', choices=('png', 'jpg'), default='png')
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing train/, val/ and meta/ folders')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        summary = generate_toy_imagefolder(
            args.out_dir,
            num_classes=args.num_classes,
            train_per_class=args.train_per_class,
            val_per_class=args.val_per_class,
            size=args.size,
            seed=args.seed,
            ext=args.ext,
            overwrite=args.overwrite)
    except (OSError, ValueError) as err:
        return report_error(err)
    print(f"{summary['root']}: {len(summary['classes'])} classes, "
          f"{summary['num_train']} train and {summary['num_val']} val images; "
          f"val labels in {summary['val_ann_file']}")
    return 0


if __name__ == '__main__':
    sys.exit(main())
