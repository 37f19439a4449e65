"""Running the tools in tests: as users do (a subprocess), or in process
through their ``main()`` where only the outcome matters (no interpreter
start-up, which costs seconds per call)."""
import importlib.util
import re
import subprocess
import sys

from conftest import REPO

METRICS = re.compile(r'Iter\((?:test|val)\) \[\d+/\d+\]\s+(aAcc: [\d.]+\s+mIoU: '
                     r'[\d.]+\s+mAcc: [\d.]+)')


def data_options(root, iters=2, val_interval=1000, ckpt_interval=1000):
    """``--cfg-options`` pointing every split at ``root``, a short run."""
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}',
        f'default_hooks.checkpoint.interval={ckpt_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=10',
    ]


def run_tool(args, env, timeout=300, check=True):
    """``python ARGS`` from the repo root, as a user runs it."""
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


def load_tool(name):
    """``tools/NAME.py`` as a module."""
    spec = importlib.util.spec_from_file_location(f'{name}_tool',
                                                  REPO / 'tools' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_main(name, args, monkeypatch):
    """``tools/NAME.py ARGS`` in this process; returns its exit status."""
    monkeypatch.setattr(sys, 'argv', [f'{name}.py', *map(str, args)])
    return load_tool(name).main()


def label_maps(folder):
    import cv2
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            for p in sorted(folder.glob('*.png'))}
