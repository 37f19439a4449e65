"""Benchmark rows out: ratios, the printed table, JSON, CSV, a speed/mIoU plot."""
import csv
import json
import math
import os
from dataclasses import asdict
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from repvgg_seg.apis import config_name, load_config
from .rows import ROW_FIELDS, BenchmarkRow
from .suite import form_mac_counts

# Paper, Table 8 (Cityscapes val mIoU; examples/s on a 1080Ti, fp32, batch
# 16, 713x713), keyed by this project's config names.
PAPER_TABLE8: Dict[str, Dict[str, float]] = {
    'pspnet_repvgg_b1g2_fast': dict(miou=78.88, images_per_s=10.9),
    'pspnet_r50': dict(miou=77.17, images_per_s=10.4),
    'pspnet_repvgg_b1g2': dict(miou=78.70, images_per_s=8.0),
    'pspnet_repvgg_b2_fast': dict(miou=79.52, images_per_s=6.9),
    'pspnet_r101': dict(miou=78.51, images_per_s=6.7),
    'pspnet_repvgg_b2': dict(miou=80.57, images_per_s=4.5),
}

# The comparisons Table 8 makes: RepVGG-fast vs the ResNet of similar cost,
# and the "-fast" dilation pattern vs the full one.
TABLE8_PAIRS: Tuple[Tuple[str, str], ...] = (
    ('pspnet_repvgg_b1g2_fast', 'pspnet_r50'),
    ('pspnet_repvgg_b2_fast', 'pspnet_r101'),
    ('pspnet_repvgg_b1g2_fast', 'pspnet_repvgg_b1g2'),
    ('pspnet_repvgg_b2_fast', 'pspnet_repvgg_b2'),
)


def parse_pairs(items: Optional[Sequence[str]]) -> Tuple[Tuple[str, str], ...]:
    """``['a:b', ...]`` into config-name pairs; None gives the Table 8 pairs.

    Raises:
        ValueError: An item is not ``A:B``.
    """
    if items is None:
        return TABLE8_PAIRS
    pairs = []
    for item in items:
        a, sep, b = item.partition(':')
        if not sep or not a or not b:
            raise ValueError(f'--pairs takes A:B config names, got {item!r}')
        pairs.append((a, b))
    return tuple(pairs)


def format_macs(configs: Sequence[str], shape: Sequence[int]) -> str:
    """Multiply-adds per image of each config, both forms, backbone and head
    (counted on the meta device: instant, no memory)."""
    lines = [f'multiply-adds per {shape[0]}x{shape[1]} image (G), backbone + '
             'decode head, auxiliary head excluded',
             f'{"config":26} {"train":>8} {"deploy":>8} {"backbone":>9} {"head":>7}']
    for config in configs:
        counts = form_mac_counts(load_config(config), shape)
        deploy = counts['deploy']
        lines.append(f'{config_name(config):26} {counts["train"].per_image / 1e9:8.4g} '
                     f'{deploy.per_image / 1e9:8.4g} '
                     f'{deploy.by_prefix("backbone") / 1e9:9.4g} '
                     f'{deploy.by_prefix("decode_head") / 1e9:7.4g}')
    return '\n'.join(lines)


def add_ratios(rows: Sequence[BenchmarkRow], baseline: Optional[str] = None,
               matmul_tflops: Optional[float] = None) -> None:
    """Fill ``ratio_to_baseline`` and ``matmul_fraction`` in place.

    Args:
        rows (Sequence[BenchmarkRow]): All rows of a run.
        baseline (str, optional): Config name; each row is divided by the
            baseline's row of the same form and mode.
        matmul_tflops (float, optional): The measured dense matmul rate.
    """
    if baseline is not None and not any(r.config == baseline for r in rows):
        names = sorted({r.config for r in rows})
        raise ValueError(f'baseline {baseline!r} is not among the configs: '
                         f'{", ".join(names)}')
    index = {r.key: r for r in rows}
    for row in rows:
        base = index.get((baseline, row.form, row.mode)) if baseline else None
        if base is not None and base.images_per_s and row.images_per_s:
            row.ratio_to_baseline = row.images_per_s / base.images_per_s
        if matmul_tflops and row.tflops is not None:
            row.matmul_fraction = row.tflops / matmul_tflops


def _fmt(value: Optional[float], spec: str, suffix: str = '') -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '-'
    return format(value, spec) + suffix


def _grid(header: Sequence[str], body: List[List[str]]) -> str:
    widths = [max(len(r[i]) for r in [list(header)] + body)
              for i in range(len(header))]
    lines = ['  '.join(h.ljust(w) if i < 3 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append('  '.join('-' * w for w in widths))
    for r in body:
        lines.append('  '.join(c.ljust(w) if i < 3 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))))
    return '\n'.join(lines)


def format_table(rows: Sequence[BenchmarkRow], baseline: Optional[str] = None) -> str:
    """The result table, one line per row; notes for rows that did not run.

    Args:
        rows (Sequence[BenchmarkRow]): Rows with ratios filled in.
        baseline (str, optional): Named in the ratio column's header.

    Returns:
        str: The table.
    """
    with_matmul = any(r.matmul_fraction is not None for r in rows)
    header = ['config', 'form', 'mode', 'ms/batch', 'img/s',
              f'x {baseline}' if baseline else 'x base', 'deploy x',
              'GMAC/img', 'TFLOP/s'] + (['% matmul'] if with_matmul else []) + [
                  'peak MiB', 'rel err', 'same cls', 'status']
    body = []
    for r in rows:
        line = [r.config, r.form, r.mode, _fmt(r.ms_per_batch, '.1f'),
                _fmt(r.images_per_s, '.2f'), _fmt(r.ratio_to_baseline, '.2f'),
                _fmt(r.deploy_speedup, '.2f'), _fmt(r.gmacs_per_image, '.4g'),
                _fmt(r.tflops, '.3f')]
        if with_matmul:
            line.append(_fmt(None if r.matmul_fraction is None
                             else 100 * r.matmul_fraction, '.1f'))
        line += [_fmt(r.peak_mib, '.0f'), _fmt(r.rel_max_err, '.1e'),
                 _fmt(None if r.class_agreement is None
                      else 100 * r.class_agreement, '.2f', '%'), r.status]
        body.append(line)
    text = _grid(header, body)
    notes = [f'  {r.config} {r.form}/{r.mode}: {r.status}: {r.note}'
             for r in rows if r.status != 'ok']
    if notes:
        text += '\nNot timed:\n' + '\n'.join(notes)
    return text


def format_deploy_speedups(rows: Sequence[BenchmarkRow]) -> str:
    """Table 6-style: deployed over training-form speed, per config."""
    lines = []
    for r in rows:
        if r.form == 'deploy' and r.deploy_speedup is not None:
            lines.append(f'  {r.config} ({r.mode}): training form '
                         f'{r.images_per_s / r.deploy_speedup:.2f} img/s -> '
                         f'deployed {r.images_per_s:.2f} img/s = '
                         f'{r.deploy_speedup:.2f}x')
    return ('Deployed vs training form (Table 6 style):\n' + '\n'.join(lines)
            if lines else '')


def format_pairs(rows: Sequence[BenchmarkRow],
                 pairs: Iterable[Tuple[str, str]] = TABLE8_PAIRS) -> str:
    """Speed ratios of config pairs, same form and mode, beside the paper's.

    Pairs whose configs are not both in ``rows`` are left out.
    """
    index = {r.key: r for r in rows}
    lines = []
    for a, b in pairs:
        for r in rows:
            if r.config != a or not r.images_per_s:
                continue
            other = index.get((b, r.form, r.mode))
            if other is None or not other.images_per_s:
                continue
            paper = ''
            if a in PAPER_TABLE8 and b in PAPER_TABLE8:
                ratio = (PAPER_TABLE8[a]['images_per_s']
                         / PAPER_TABLE8[b]['images_per_s'])
                paper = f' (paper, 1080Ti fp32: {ratio:.2f})'
            lines.append(f'  {a} / {b} [{r.form}/{r.mode}]: '
                         f'{r.images_per_s / other.images_per_s:.2f}{paper}')
    return 'Speed ratios:\n' + '\n'.join(lines) if lines else ''


def write_json(rows: Sequence[BenchmarkRow], path: str,
               meta: Optional[dict] = None) -> None:
    """``{"meta": {...}, "rows": [{field: value}, ...]}``."""
    _makedirs(path)
    data = dict(meta=meta or {}, rows=[_finite(asdict(r)) for r in rows])
    with open(path, 'w') as f:
        # Strict JSON: an infinite error (NaN output) is written as null; the
        # row's status and note still say what happened.
        json.dump(data, f, indent=2, allow_nan=False)
        f.write('\n')


def _finite(record: dict) -> dict:
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in record.items()}


def write_csv(rows: Sequence[BenchmarkRow], path: str) -> None:
    """One row per variant, columns :data:`ROW_FIELDS`."""
    _makedirs(path)
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=ROW_FIELDS)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ('' if v is None else v) for k, v in asdict(r).items()})


def _makedirs(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)


def load_miou(path: Optional[str] = None) -> Dict[str, float]:
    """mIoU per config name.

    Args:
        path (str, optional): JSON file mapping config name to a number or to
            a dict holding ``mIoU`` (as mmseg's test metrics). Without it the
            paper's Table 8 values are used; with it, its entries override
            them.

    Returns:
        dict: Config name to mIoU (percent).
    """
    values = {k: v['miou'] for k, v in PAPER_TABLE8.items()}
    if path:
        with open(path) as f:
            data = json.load(f)
        for name, value in data.items():
            if isinstance(value, dict):
                value = value.get('mIoU', value.get('miou'))
            if value is not None:
                values[name] = float(value)
    return values


def plot_speed_vs_miou(rows: Sequence[BenchmarkRow], miou: Dict[str, float],
                       path: str, form: str = 'deploy', mode: str = 'fp32',
                       title: Optional[str] = None,
                       miou_source: str = 'paper, Table 8') -> int:
    """Scatter images/s against mIoU, one labelled point per config.

    Args:
        rows (Sequence[BenchmarkRow]): Measured rows.
        miou (dict): Config name to mIoU.
        path (str): Image file to write (format from the extension).
        form (str): Which form's speed to plot. Default: 'deploy'.
        mode (str): Which mode's speed to plot. Default: 'fp32'.
        title (str, optional): Plot title.
        miou_source (str): Where the mIoU values come from (axis label).

    Returns:
        int: Number of points plotted (configs without an mIoU are left out).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    points = [(r.config, r.images_per_s, miou[r.config]) for r in rows
              if r.form == form and r.mode == mode and r.images_per_s
              and r.config in miou]
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for name, speed, value in points:
        marker = 's' if 'repvgg' in name else 'o'
        ax.scatter(speed, value, marker=marker, s=40)
        ax.annotate(name.replace('pspnet_', ''), (speed, value),
                    textcoords='offset points', xytext=(4, 4), fontsize=8)
    ax.set_xlabel(f'images/s ({form}, {mode})')
    ax.set_ylabel(f'mIoU (%), {miou_source}')
    ax.grid(True, alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    _makedirs(path)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return len(points)
