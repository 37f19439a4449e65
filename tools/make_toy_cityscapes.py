"""Write the synthetic toy Cityscapes set and convert it like the real one.

    python tools/make_toy_cityscapes.py data/toy_cityscapes

The output has the official Cityscapes layout, so the same configs and the
same tools/prepare_cityscapes.py conversion apply; by default the trainId
label maps are written right away (skip with --no-convert).
"""
import argparse
import sys

from repvgg_seg.engine.cli import report_error
from repvgg_seg.process_env import usable_cpus
from repvgg_seg.datasets.cityscapes_check import CityscapesLayoutError
from repvgg_seg.datasets.cityscapes_prep import (CityscapesConversionError,
                                                 convert_polygons_to_train_ids)
from repvgg_seg.toydata.cityscapes_layout import (DEFAULT_NUM_TRAIN,
                                                  DEFAULT_NUM_VAL,
                                                  generate_toy_cityscapes)
from repvgg_seg.toydata.street_geometry import DEFAULT_SIZE, TOY_TRAIN_IDS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('out_dir', help='data root to create')
    parser.add_argument('--num-train', type=int, default=DEFAULT_NUM_TRAIN,
                        help='train images (default: %(default)s)')
    parser.add_argument('--num-val', type=int, default=DEFAULT_NUM_VAL,
                        help='val images (default: %(default)s)')
    parser.add_argument('--size', type=int, nargs=2, default=DEFAULT_SIZE,
                        metavar=('W', 'H'),
                        help='image size (default: %(default)s)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true',
                        help='replace existing toy train/val folders')
    parser.add_argument('--no-convert', action='store_true',
                        help='write images and polygon JSON only (then run '
                        'tools/prepare_cityscapes.py on OUT_DIR)')
    parser.add_argument('--nproc', type=int, default=usable_cpus(),
                        help='conversion workers (default: %(default)s)')
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    try:
        written = generate_toy_cityscapes(
            args.out_dir,
            num_train=args.num_train,
            num_val=args.num_val,
            size=tuple(args.size),
            seed=args.seed,
            overwrite=args.overwrite)
        print(f'wrote {len(written["train"])} train and {len(written["val"])}'
              f' val images of {args.size[0]}x{args.size[1]} to '
              f'{args.out_dir}')
        if not args.no_convert:
            splits = [s for s, paths in written.items() if paths]
            summary = convert_polygons_to_train_ids(
                args.out_dir, splits=splits, nproc=args.nproc,
                overwrite=True, with_eval_maps=True)
            print(f'label maps written: {len(summary.written)}')
    except (FileExistsError, ValueError, CityscapesLayoutError,
            CityscapesConversionError) as e:
        return report_error(e)
    print('classes (trainId): ' +
          ', '.join(f'{n} ({i})' for n, i in TOY_TRAIN_IDS.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
