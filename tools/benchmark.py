"""Segmentor speed in the paper's protocol (Table 8), with optional fast modes.

Model forward only (backbone + decode head), random weights unless a
checkpoint is given, fp32 with TF32 off, cudnn.benchmark on, synchronised
timing of warm-up + timed batches:

    python tools/benchmark.py configs/pspnet_repvgg_b1g2_fast.py \\
        configs/pspnet_r50.py --device cuda --shape 713 713 --batch-size 16 \\
        --warmup 50 --iters 50 --baseline pspnet_r50 --out-json work_dirs/bench.json

Fast modes (deployed form; each checked against fp32 before it is timed):

    python tools/benchmark.py configs/pspnet_repvgg_b2_fast.py --device cuda \\
        --modes tf32 channels_last+bf16 channels_last+bf16+compile \\
        channels_last+fp16+cuda_graphs --matmul-peak

Small CPU run (both forms, Table 6-style deployed/training speed-up):

    python tools/benchmark.py configs/pspnet_repvgg_b1g2.py --device cpu \\
        --shape 256 256 --batch-size 1 --warmup 2 --iters 5 --rounds 3 --form both

Multiply-adds per image only (meta device, instant):

    python tools/benchmark.py configs/pspnet_*.py --macs-only --shape 713 713

Exit status 1 when a variant's output was wrong or it raised.
"""
import argparse
import sys

import torch

from repvgg_seg.benchmark import (BenchmarkSettings, FastMode,
                                  measure_matmul_peak, run_benchmark)
from repvgg_seg.benchmark.environment import environment_info, library_versions
from repvgg_seg.benchmark.report import (add_ratios, format_deploy_speedups,
                                         format_macs, format_pairs, format_table,
                                         load_miou, parse_pairs,
                                         plot_speed_vs_miou, write_csv,
                                         write_json)
from repvgg_seg.engine.cli import INPUT_ERRORS, add_cfg_options, report_error


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('configs', nargs='+', help='segmentation config files')
    parser.add_argument('--checkpoint', nargs='+', default=None,
                        help='one checkpoint per config ("none" for random '
                        'weights); default: random weights for all')
    parser.add_argument('--device', default=None,
                        help='cuda, cuda:N or cpu (default: cuda if available)')
    parser.add_argument('--shape', nargs=2, type=int, default=[713, 713],
                        metavar=('H', 'W'), help='input size (default 713 713)')
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--warmup', type=int, default=50,
                        help='untimed batches (paper: 50)')
    parser.add_argument('--iters', type=int, default=50,
                        help='timed batches (paper: 50)')
    parser.add_argument('--rounds', type=int, default=1,
                        help='alternate all variants this many times and keep '
                        'each one\'s best (use 3 on a shared machine)')
    parser.add_argument('--form', choices=('train', 'deploy', 'both'),
                        default='deploy',
                        help='training form, deployed (switch_to_deploy on the '
                        'whole segmentor) or both (default: deploy)')
    parser.add_argument('--modes', nargs='*', default=[],
                        help='fast modes on the deployed form, each switches '
                        'joined by "+": tf32 channels_last fp16 bf16 compile '
                        'cuda_graphs (e.g. channels_last+bf16+compile)')
    parser.add_argument('--onnxruntime', action='store_true',
                        help='also time an onnxruntime CPU session of the '
                        'deployed model')
    parser.add_argument('--onnxruntime-int8', action='store_true',
                        help='also time it quantized to INT8 (static QDQ, '
                        'calibrated on random batches; class agreement with '
                        'fp32 is checked before timing)')
    parser.add_argument('--calib-batches', type=int, default=4,
                        help='calibration batches for --onnxruntime-int8')
    parser.add_argument('--tolerance', type=float, default=None,
                        help='relative max error allowed for every check '
                        '(default: 1e-4 fp32, 1e-2 tf32/fp16, 5e-2 bf16)')
    parser.add_argument('--baseline', default=None,
                        help='config name (file name without .py) the ratio '
                        'column divides by, e.g. pspnet_r50')
    parser.add_argument('--pairs', nargs='*', default=None, metavar='A:B',
                        help='config-name pairs to print speed ratios for '
                        '(default: the Table 8 pairs present)')
    parser.add_argument('--matmul-peak', action='store_true',
                        help='measure the dense bf16 matmul TFLOP/s of the '
                        'device and report each variant as a percentage of it')
    parser.add_argument('--macs-only', action='store_true',
                        help='only count multiply-adds per image at --shape '
                        '(meta device: instant, no memory) and exit')
    parser.add_argument('--threads', type=int, default=None,
                        help='torch intra-op threads (default: torch default)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-json', help='write rows and environment as JSON')
    parser.add_argument('--out-csv', help='write rows as CSV')
    parser.add_argument('--plot', help='write a speed-vs-mIoU plot (png/pdf/svg)')
    parser.add_argument('--plot-mode', default='fp32',
                        help='which mode\'s deployed speed to plot (default fp32)')
    parser.add_argument('--miou-json',
                        help='JSON {config name: mIoU or {"mIoU": ...}} for the '
                        'plot (default: the paper\'s Table 8 values)')
    add_cfg_options(parser, 'config overrides for every config, key=value')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.macs_only:
        try:
            print(format_macs(args.configs, args.shape))
        except INPUT_ERRORS as err:
            return report_error(err, 2)
        return 0
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ('cuda' if torch.cuda.is_available() else 'cpu')
    if torch.device(device).type == 'cuda' and not torch.cuda.is_available():
        return report_error(ValueError('--device cuda but torch sees no GPU; '
                                       'use --device cpu'), 2)
    checkpoints = None
    if args.checkpoint is not None:
        checkpoints = [None if c.lower() == 'none' else c for c in args.checkpoint]
    try:
        modes = tuple(FastMode.parse(m) for m in args.modes)
        settings = BenchmarkSettings(
            device=device, batch_size=args.batch_size, shape=tuple(args.shape),
            warmup=args.warmup, iters=args.iters, rounds=args.rounds,
            forms=('train', 'deploy') if args.form == 'both' else (args.form, ),
            modes=modes, onnxruntime=args.onnxruntime,
            onnxruntime_int8=args.onnxruntime_int8,
            calib_batches=args.calib_batches, tolerance=args.tolerance,
            seed=args.seed)
        pairs = parse_pairs(args.pairs)
    except ValueError as err:
        return report_error(err, 2)

    env = environment_info(torch.device(device))
    print(f'{env["date"]}  torch {env["torch"]}  device {device} '
          f'({env["device_name"]}), {env["torch_threads"]} threads, input '
          f'{args.batch_size}x3x{args.shape[0]}x{args.shape[1]}, '
          f'{args.warmup} warm-up + {args.iters} timed batches'
          + (f', best of {args.rounds} rounds' if args.rounds > 1 else ''),
          flush=True)
    matmul = None
    if args.matmul_peak:
        matmul = measure_matmul_peak(torch.device(device))
        print(f'dense {matmul.dtype} matmul ({matmul.size}^3): '
              f'{matmul.tflops:.2f} TFLOP/s', flush=True)

    def progress(msg: str) -> None:
        print(msg, flush=True)

    try:
        rows = run_benchmark(args.configs, settings, checkpoints,
                             args.cfg_options, progress)
        add_ratios(rows, args.baseline, matmul.tflops if matmul else None)
    except INPUT_ERRORS as err:
        return report_error(err, 2)

    print()
    print(format_table(rows, args.baseline))
    for section in (format_deploy_speedups(rows), format_pairs(rows, pairs)):
        if section:
            print()
            print(section)
    meta = dict(environment=env, libraries=library_versions(),
                settings=vars(args), matmul_peak=vars(matmul) if matmul else None)
    if args.out_json:
        write_json(rows, args.out_json, meta)
        print(f'wrote {args.out_json}')
    if args.out_csv:
        write_csv(rows, args.out_csv)
        print(f'wrote {args.out_csv}')
    if args.plot:
        n = plot_speed_vs_miou(rows, load_miou(args.miou_json), args.plot,
                               mode=args.plot_mode,
                               miou_source=(f'{args.miou_json}, else paper'
                                            if args.miou_json else 'paper, Table 8'),
                               title=f'{env["device_name"]}, batch '
                               f'{args.batch_size}, {args.shape[0]}x{args.shape[1]}')
        print(f'wrote {args.plot} ({n} configs with an mIoU)')
    return 1 if any(r.status in ('wrong', 'error') for r in rows) else 0


if __name__ == '__main__':
    sys.exit(main())
