"""Check a Cityscapes download and write the trainId label maps mmseg reads.

    python tools/prepare_cityscapes.py data/cityscapes --nproc 8

Expects the official layout (leftImg8bit_trainvaltest.zip and
gtFine_trainvaltest.zip unpacked side by side) and writes
``*_gtFine_labelTrainIds.png`` next to every ``*_gtFine_polygons.json`` with
cityscapesscripts' own conversion. Files already converted are kept unless
--overwrite is given.
"""
import argparse
import sys

from repvgg_seg.engine.cli import report_error
from repvgg_seg.process_env import usable_cpus
from repvgg_seg.datasets.cityscapes_check import (CityscapesLayoutError,
                                                  DEFAULT_SPLITS)
from repvgg_seg.datasets.cityscapes_prep import (CityscapesConversionError,
                                                 ConversionSummary,
                                                 convert_polygons_to_train_ids,
                                                 write_split_lists)


def add_conversion_args(parser: argparse.ArgumentParser) -> None:
    """Options shared with tools/make_toy_cityscapes.py."""
    parser.add_argument('--nproc', type=int, default=usable_cpus(),
                        help='worker processes (default: %(default)s)')
    parser.add_argument('--overwrite', action='store_true',
                        help='re-create label maps that already exist')
    parser.add_argument('--eval-maps', action='store_true',
                        help='also write *_gtFine_labelIds.png and '
                        '*_gtFine_instanceIds.png for the official evaluation '
                        '(the official download already has them)')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('data_root', help='Cityscapes root holding '
                        'leftImg8bit/ and gtFine/')
    parser.add_argument('--splits', nargs='+', default=list(DEFAULT_SPLITS),
                        help='splits to convert (default: %(default)s)')
    parser.add_argument('--split-lists', action='store_true',
                        help='also write <split>.txt image lists into '
                        'DATA_ROOT (usable as a dataset ann_file)')
    add_conversion_args(parser)
    return parser.parse_args()


def print_summary(summary: ConversionSummary) -> None:
    for split, layout in summary.layout.items():
        print(f'{split}: {layout.num_images} images in '
              f'{len(layout.cities)} cities')
    print(f'label maps written: {len(summary.written)}, already present: '
          f'{len(summary.skipped)}')


def main() -> int:
    args = parse_args()
    try:
        summary = convert_polygons_to_train_ids(
            args.data_root,
            splits=args.splits,
            nproc=args.nproc,
            overwrite=args.overwrite,
            with_eval_maps=args.eval_maps)
        print_summary(summary)
        if args.split_lists:
            for split, path in write_split_lists(args.data_root,
                                                 args.splits).items():
                print(f'{split} list: {path}')
    # Expected, user-fixable problems: a message, not a traceback.
    except (CityscapesLayoutError, CityscapesConversionError) as e:
        return report_error(e)
    return 0


if __name__ == '__main__':
    sys.exit(main())
