"""The GPU kit (scripts/gpu/): its lock file, and ``bench.sh --smoke`` on a CPU.

The smoke run goes through every step kind of the GPU run - the environment,
the Table 8 protocol (both forms), the fast modes, MMSeg's own benchmark with
its prepared data, config and random checkpoint - on the small demo config at
64x64, and checks what a GPU run hands back in its OUT folder. The
``torch.compile`` step is skipped here (GPU_KIT_SKIP): inductor's C++ build
takes about a minute on a 2-core CPU; ``bash scripts/gpu/bench.sh --smoke``
by hand runs it. The install (wheels, mmcv build) is GPU-machine only.
"""
import csv
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
KIT = REPO / 'scripts' / 'gpu'
DEMO = 'configs/demo/pspnet_repvgg_toy_cityscapes.py'
NAME = 'pspnet_repvgg_toy_cityscapes'
# What the device tool hands back: at most 8 files, plain names.
MAX_FILES = 8
SAFE_NAME = re.compile(r'^[A-Za-z0-9._-]+$')


def _run_bench(out: Path, tmp: Path, **extra_env) -> subprocess.CompletedProcess:
    env = dict(os.environ, GPU_KIT_PYTHON=sys.executable, OMP_NUM_THREADS='1',
               TMPDIR=str(tmp), **extra_env)
    env.pop('OUT', None)
    return subprocess.run(['bash', str(KIT / 'bench.sh'), '--smoke', '--out', str(out)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope='module')
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu_kit_out')
    proc = _run_bench(out, tmp_path_factory.mktemp('gpu_kit_tmp'),
                      GPU_KIT_CONFIGS=DEMO, GPU_KIT_SKIP='compile')
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return out, proc.stdout


def _steps(out: Path) -> dict:
    results = json.loads((out / 'results.json').read_text())
    return {s['name']: s for s in results['steps']}


def test_out_folder_fits_what_comes_back(smoke):
    out, _ = smoke
    names = sorted(p.name for p in out.iterdir())
    assert names == ['logs.tar.gz', 'results.csv', 'results.json', 'summary.txt',
                     'table8.png']
    assert len(names) <= MAX_FILES and all(SAFE_NAME.match(n) for n in names)
    assert all((out / n).is_file() and (out / n).stat().st_size > 0 for n in names)
    assert (out / 'table8.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_summary_lists_every_step(smoke):
    out, stdout = smoke
    summary = (out / 'summary.txt').read_text()
    assert summary in stdout
    expected = {'install_wheels': 'skipped', 'build_mmcv': 'skipped',
                'environment': 'ok', 'table8': 'ok', 'fast_modes': 'ok',
                'mmseg_prep': 'ok', f'mmseg_{NAME}': 'ok', f'compile_{NAME}': 'skipped'}
    for step, status in expected.items():
        assert re.search(rf'^  {step} +{status} ', summary, re.M), (step, summary)
    assert 'ok: 5, failed: 0, skipped: 3' in summary
    steps = _steps(out)
    assert {k: v['status'] for k, v in steps.items()} == expected
    assert steps[f'compile_{NAME}']['note'] == 'GPU_KIT_SKIP'
    assert steps['build_mmcv']['note'].startswith('smoke')


def test_json_rows_have_configs_and_status(smoke):
    out, _ = smoke
    results = json.loads((out / 'results.json').read_text())
    rows = {(r['step'], r['form'], r['mode']): r for r in results['rows']}
    assert all(r['config'] == NAME for r in results['rows'])
    assert set(rows) == {
        ('table8', 'train', 'fp32'), ('table8', 'deploy', 'fp32'),
        ('fast_modes', 'deploy', 'fp32'), ('fast_modes', 'deploy', 'tf32'),
        ('fast_modes', 'deploy', 'channels_last+bf16'),
        ('fast_modes', 'deploy', 'channels_last+fp16+cuda_graphs')}
    for key in [('table8', 'train', 'fp32'), ('table8', 'deploy', 'fp32'),
                ('fast_modes', 'deploy', 'channels_last+bf16')]:
        row = rows[key]
        assert row['status'] == 'ok', row
        assert row['images_per_s'] > 0 and row['peak_mib'] > 0
        assert (row['height'], row['width'], row['batch_size']) == (64, 64, 1)
    # The CUDA-only modes are reported as skipped by the tool itself, with its reason.
    for mode in ('tf32', 'channels_last+fp16+cuda_graphs'):
        row = rows[('fast_modes', 'deploy', mode)]
        assert row['status'] == 'skipped' and 'cuda' in row['note'].lower()
    assert rows[('table8', 'deploy', 'fp32')]['deploy_speedup'] > 0
    assert results['runs']['fast_modes']['matmul_peak']['tflops'] > 0
    assert results['environment']['mmcv_ext'] == 'compiled ops import'
    assert results['kit']['mode'] == 'smoke'


def test_mmseg_benchmark_result_beside_ours(smoke):
    out, stdout = smoke
    (mmseg, ) = json.loads((out / 'results.json').read_text())['mmseg_benchmark']
    assert mmseg['config'] == NAME
    assert mmseg['images_per_s'] > 0 and mmseg['windows_per_image'] == 1
    assert set(mmseg['ours_table8_images_per_s']) == {'train/fp32', 'deploy/fp32'}
    assert f'mmseg benchmark {NAME}: ' in stdout


def test_csv_matches_json(smoke):
    out, _ = smoke
    with open(out / 'results.csv', newline='') as f:
        table = list(csv.DictReader(f))
    rows = json.loads((out / 'results.json').read_text())['rows']
    assert len(table) == len(rows)
    assert [r['step'] for r in table] == [r['step'] for r in rows]
    assert {'config', 'form', 'mode', 'status', 'images_per_s', 'peak_mib'} <= set(table[0])


def test_archive_holds_the_logs(smoke):
    out, _ = smoke
    with tarfile.open(out / 'logs.tar.gz') as tar:
        names = set(tar.getnames())
        table8_log = tar.extractfile('logs/table8.log').read().decode()
    for member in ('logs/environment.log', 'logs/table8.log', 'logs/fast_modes.log',
                   'logs/mmseg_prep.log', f'logs/mmseg_{NAME}.log', 'raw/table8.json',
                   'raw/fast_modes.csv', 'raw/mmseg_plan.json', 'steps.tsv',
                   'summary.txt', f'mmseg_configs/{NAME}.py'):
        assert member in names, member
    assert any(re.match(rf'raw/mmseg_{NAME}/fps_.*\.json$', n) for n in names)
    assert 'deploy/fp32' in table8_log
    assert not any(n.endswith('.pth') for n in names)  # checkpoints stay behind


def test_report_still_written_when_the_budget_allows_nothing(tmp_path):
    out = tmp_path / 'out'
    proc = _run_bench(out, tmp_path, GPU_KIT_BUDGET_S='0', GPU_KIT_CONFIGS=DEMO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    steps = _steps(out)
    assert steps['table8']['status'] == 'skipped'
    assert 'left of the 0s budget' in steps['table8']['note']
    assert (out / 'logs.tar.gz').is_file() and (out / 'summary.txt').is_file()


def test_lock_pins_one_version_of_each_and_nothing_the_gpu_has():
    entries = [line.split() for line in (KIT / 'kit.lock').read_text().splitlines()
               if line.strip() and not line.startswith('#')]
    assert all(len(e) == 4 for e in entries), entries
    names = [re.split('==', req)[0].lower() for _, req, _, _ in entries]
    assert len(names) == len(set(names))
    assert {'mmengine', 'mmsegmentation', 'mmcv'} <= set(names)
    assert not {'torch', 'numpy', 'opencv-python', 'onnxruntime', 'typing'} & set(names)
    for role, req, file, sha in entries:
        assert re.fullmatch(r'[0-9a-f]{64}', sha), file
        assert re.fullmatch(r'wheel|sdist|fallback:\w+|build:\w+', role), role
        version = req.split('==')[1]
        assert f'-{version}' in file, (req, file)
        if file.endswith('.whl'):
            assert re.search(r'-(py3|py2\.py3|cp312|cp310-abi3)-', file), file
