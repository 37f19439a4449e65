"""Deployed vs training-form RepVGG backbone speed, measured in one run.

    python tools/benchmark_backbone.py --arch A0 B1g2 --shape 8 3 224 224

The two forms are timed in alternating rounds (best kept) and the deployed
output is checked against the training form with the benchmark's own error
measure.
"""
import argparse
import copy
import platform

import torch

from repvgg_seg.apis import relative_max_error
from repvgg_seg.benchmark import time_forward
from repvgg_seg.benchmark.timing import best_of_rounds
from repvgg_seg.models import RepVGG


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--arch', nargs='+', default=['A0'], help='RepVGG archs')
    parser.add_argument('--block', default='repvgg', choices=('repvgg', 'qarepvgg'))
    parser.add_argument('--shape', nargs=4, type=int, default=[8, 3, 224, 224],
                        metavar=('N', 'C', 'H', 'W'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    parser.add_argument('--rounds', type=int, default=3,
                        help='alternate the two forms this many times and keep '
                        'each form\'s best, so drift hits both alike')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    x = torch.randn(*args.shape, device=device)
    print(f'torch {torch.__version__}, {platform.processor() or platform.machine()}, '
          f'{torch.get_num_threads()} threads, input {tuple(x.shape)}, '
          f'{args.warmup} warm-up + {args.iters} timed batches, best of '
          f'{args.rounds} alternating rounds')
    print(f'{"arch":6} {"train ms":>9} {"deploy ms":>10} {"train img/s":>12} '
          f'{"deploy img/s":>13} {"speed-up":>9} {"max rel err":>12}')
    for arch in args.arch:
        train_form = RepVGG(arch, out_indices=(4, ), block=args.block).to(device).eval()
        deployed = copy.deepcopy(train_form)
        deployed.switch_to_deploy()
        with torch.inference_mode():
            err = relative_max_error(deployed(x)[0], train_form(x)[0])
        t, d = best_of_rounds(
            [lambda _r, m=model: time_forward(m, x, args.warmup, args.iters)
             for model in (train_form, deployed)], args.rounds)
        print(f'{arch:6} {t.ms_per_batch:9.1f} {d.ms_per_batch:10.1f} '
              f'{t.images_per_s:12.1f} {d.images_per_s:13.1f} '
              f'{t.seconds / d.seconds:8.2f}x {err:12.2e}')


if __name__ == '__main__':
    main()
