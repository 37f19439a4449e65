"""Helpers of scripts/gpu/bench.sh: the environment, and the report at the end.

    python scripts/gpu/kit.py env WORK            # print + WORK/raw/environment.json
    python scripts/gpu/kit.py report WORK OUT [key=value ...]

``report`` gathers what the steps left in WORK (steps.tsv, the benchmark
tools' JSON) into OUT/results.json and OUT/results.csv (every row with the
step it came from), copies the Table 8 plot, and prints the rows and how
mmseg's own benchmark figure relates to ours. It needs no torch and no
repvgg_seg, so it still reports when those failed to install.
"""
import csv
import glob
import json
import math
import os
import shutil
import subprocess
import sys

STEP_FIELDS = ('name', 'status', 'rc', 'seconds', 'limit_s', 'note')


def environment() -> dict:
    import platform
    info = {'python': platform.python_version(), 'executable': sys.executable,
            'cpu_cores': os.cpu_count()}
    try:
        smi = subprocess.run(
            ['nvidia-smi', '--query-gpu=name,driver_version,memory.total,clocks.max.sm',
             '--format=csv,noheader'], capture_output=True, text=True, timeout=30)
        info['nvidia_smi'] = (smi.stdout.strip() or smi.stderr.strip())
    except (OSError, subprocess.SubprocessError) as err:
        info['nvidia_smi'] = f'not available ({type(err).__name__})'
    import torch
    info.update(torch=torch.__version__, cuda=torch.version.cuda,
                cudnn=torch.backends.cudnn.version(),
                cuda_available=torch.cuda.is_available(),
                # torch's defaults, which mmseg's benchmark keeps (ours turns TF32 off).
                cudnn_allow_tf32_default=torch.backends.cudnn.allow_tf32,
                matmul_allow_tf32_default=torch.backends.cuda.matmul.allow_tf32)
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, capability=f'{props.major}.{props.minor}',
                    gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    multiprocessors=props.multi_processor_count)
    for module in ('mmcv', 'mmengine', 'mmseg', 'numpy', 'cv2', 'repvgg_seg'):
        try:
            mod = __import__(module)
            info[module] = f'{getattr(mod, "__version__", "?")} ({os.path.dirname(mod.__file__)})'
        except Exception as err:  # noqa: BLE001  (report it, go on)
            info[module] = f'import failed: {type(err).__name__}: {err}'
    try:
        import mmcv._ext  # noqa: F401
        info['mmcv_ext'] = 'compiled ops import'
    except Exception as err:  # noqa: BLE001
        info['mmcv_ext'] = f'import failed: {type(err).__name__}: {err}'
    return info


def cmd_env(work: str) -> int:
    info = environment()
    for key, value in info.items():
        print(f'{key:26} {value}')
    os.makedirs(os.path.join(work, 'raw'), exist_ok=True)
    with open(os.path.join(work, 'raw', 'environment.json'), 'w') as f:
        json.dump(info, f, indent=2)
    bad = [k for k in ('mmcv', 'mmseg', 'repvgg_seg', 'mmcv_ext') if 'failed' in info[k]]
    return 1 if bad else 0


def _load(path: str):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _clean(value):
    """NaN/inf (mmseg writes NaN when it timed nothing) as null: strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def read_steps(work: str) -> list:
    steps = []
    path = os.path.join(work, 'steps.tsv')
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                parts = line.rstrip('\n').split('\t')
                step = dict(zip(STEP_FIELDS, parts + [''] * len(STEP_FIELDS)))
                step['log'] = f'logs/{step["name"]}.log'
                steps.append(step)
    return steps


def mmseg_results(work: str, table8_rows: list) -> list:
    """mmseg's figure per config, beside our Table 8 rows of that config."""
    results = []
    for plan in _load(os.path.join(work, 'raw', 'mmseg_plan.json')) or []:
        found = sorted(glob.glob(os.path.join(plan['work_dir'], 'fps_*.json')))
        fps = _clean(_load(found[-1])) if found else None
        avg = (fps or {}).get('average_fps')
        ours = {f'{r["form"]}/{r["mode"]}': r.get('images_per_s') for r in table8_rows
                if r['config'] == plan['name'] and r['mode'] == 'fp32'}
        results.append(dict(
            config=plan['name'], mmseg_fps=fps, images_per_s=avg,
            windows_per_image=plan['windows_per_image'],
            windows_per_s=avg * plan['windows_per_image'] if avg else None,
            image_hw=plan['image_hw'], test_mode=plan['test_mode'], form=plan['form'],
            crop_size=plan['crop_size'],
            protocol='mmseg tools/analysis_tools/benchmark.py: batch 1, whole predict '
                      'path (slide windows, resize, arg-max), cudnn.benchmark off, '
                      'torch default TF32 for convolutions, images 6..200 timed',
            ours_table8_images_per_s=ours))
    return results


def tool_table(work: str, step: str) -> str:
    """The table a tools/benchmark.py step printed (from its log)."""
    try:
        with open(os.path.join(work, 'logs', f'{step}.log')) as f:
            lines = f.read().splitlines()
    except OSError:
        return ''
    # The header is the line above the first '----' rule.
    start = next((i - 1 for i, line in enumerate(lines)
                  if i and line.startswith('-----') and lines[i - 1].startswith('config')), None)
    if start is None:
        return ''
    return '\n'.join(line for line in lines[start:] if not line.startswith('wrote '))


def cmd_report(work: str, out: str, settings: dict) -> int:
    raw = os.path.join(work, 'raw')
    steps = read_steps(work)
    tool_runs = {}  # the tools' JSON, in the order the steps ran
    for step in [s['name'] for s in steps]:
        data = _load(os.path.join(raw, f'{step}.json'))
        if isinstance(data, dict) and 'rows' in data:
            tool_runs[step] = data
    rows = [dict(step=step, **row) for step, data in tool_runs.items() for row in data['rows']]
    table8_rows = tool_runs.get('table8', {}).get('rows', [])
    results = dict(kit=settings, environment=_load(os.path.join(raw, 'environment.json')),
                   steps=steps, runs={k: v['meta'] for k, v in tool_runs.items()},
                   rows=rows, mmseg_benchmark=mmseg_results(work, table8_rows))
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, 'results.json'), 'w') as f:
        json.dump(_clean(results), f, indent=2, allow_nan=False)
    fields = ['step'] + [k for k in (rows[0] if rows else {}) if k != 'step']
    with open(os.path.join(out, 'results.csv'), 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction='ignore')
        writer.writeheader()
        writer.writerows({k: ('' if v is None else v) for k, v in r.items()} for r in rows)
    if os.path.exists(os.path.join(raw, 'table8.png')):
        shutil.copy(os.path.join(raw, 'table8.png'), os.path.join(out, 'table8.png'))

    for step in tool_runs:
        table = tool_table(work, step)
        if table:
            print(f'--- {step} (tools/benchmark.py) ---\n{table}\n')
    for m in results['mmseg_benchmark']:
        ours = ', '.join(f'{k} {v:.2f}' for k, v in m['ours_table8_images_per_s'].items() if v)
        fig = f'{m["images_per_s"]:.2f} img/s' if m['images_per_s'] else 'no figure'
        crop = 'x'.join(str(c) for c in m['crop_size']) or 'whole-image'
        per_window = (f' = {m["windows_per_s"]:.1f} windows/s ({m["windows_per_image"]} '
                      f'window(s) of up to {crop} per image)' if m['windows_per_s'] else '')
        print(f'mmseg benchmark {m["config"]}: {fig} at batch 1, '
              f'{m["image_hw"][1]}x{m["image_hw"][0]} {m["test_mode"]}{per_window}; '
              f'ours (Table 8 protocol, batch {settings.get("batch", "?")}, '
              f'{settings.get("shape", "?")}): {ours or "not measured"} img/s')
    print(f'rows: {len(rows)} ({sum(r["status"] == "ok" for r in rows)} ok); wrote '
          f'{out}/results.json, results.csv')
    return 0


def main(argv) -> int:
    if len(argv) >= 2 and argv[0] == 'env':
        return cmd_env(argv[1])
    if len(argv) >= 3 and argv[0] == 'report':
        return cmd_report(argv[1], argv[2], dict(a.split('=', 1) for a in argv[3:]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
