"""Argument parsing and runner building shared by tools/train.py and tools/test.py."""
import argparse
import os
import pickle
import sys
from contextlib import nullcontext
from typing import Callable, Optional, Sequence

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from repvgg_seg.apis import load_config  # noqa: F401  (the tools' one config reader)
from repvgg_seg.export import OnnxInputSizeError
from repvgg_seg.checkpoint import (CheckpointFileError, CheckpointLayoutError,
                                   CheckpointMismatchError, UnsafeCheckpointError)
from .work_dir_lock import WorkDirLockedError, work_dir_lock

# Bad input found while setting up or building (config values, files, an
# unknown arch or a wrong dilation list; mmengine re-raises build errors with
# the class named), and while running (checkpoints): one line, no traceback.
SETUP_ERRORS = (FileNotFoundError, KeyError, TypeError, ValueError,
                WorkDirLockedError, UnsafeCheckpointError)
# What the other tools (infer, export, quantize, benchmark, convert) end with
# one line: bad files, settings and checkpoints (UnsafeCheckpointError is an
# UnpicklingError).
INPUT_ERRORS = (OSError, ValueError, KeyError, ImportError,
                pickle.UnpicklingError)
RUN_ERRORS = (FileNotFoundError, UnsafeCheckpointError, CheckpointMismatchError,
              CheckpointLayoutError, CheckpointFileError, OnnxInputSizeError,
              WorkDirLockedError)


def add_cfg_options(parser: argparse.ArgumentParser,
                    help: str = 'config overrides, key=value (e.g. '
                    'model.backbone.init_cfg=None)') -> None:
    """``--cfg-options key=value ...``, as every tool takes it."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help=help)


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher``, ``--no-data-check``
    and ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    add_cfg_options(parser, 'override config settings, key=value (e.g. '
                    'train_cfg.max_iters=100 model.backbone.init_cfg=None)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--no-data-check', action='store_true',
                        help='skip reading every image and label map before '
                        'the run (the check is cached; this skips even that)')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=None)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    if args.local_rank is not None:
        # Only when given: a default would hide SLURM_LOCALID and the like
        # from the checks that run before mmengine's init_dist.
        os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def build_runner(cfg: Config) -> Runner:
    """MMEngine's ``Runner``, or the config's own ``runner_type``."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def report_error(err: BaseException, status: int = 1) -> int:
    """Print ``error: <Type>: <message>`` on one line; return ``status``.

    Every tool ends bad input this way instead of with a traceback.
    """
    message = err.args[0] if isinstance(err, KeyError) and err.args else err
    print(f'error: {type(err).__name__}: {message}', file=sys.stderr)
    return status


def run_from_cfg(setup: Callable[[], Config], method: str) -> int:
    """Set up the config, build the runner and call ``runner.<method>()``.

    Args:
        setup (callable): Loads and prepares the config (e.g. a
            ``setup_train_cfg`` call); its checks run first, before anything
            is dumped or written.
        method (str): ``'train'`` or ``'test'``. Training holds the work dir
            (:func:`~repvgg_seg.engine.work_dir_lock.work_dir_lock`).

    Returns:
        int: Exit status; 1 with a one-line message on bad input.
    """
    try:
        cfg = setup()
    except SETUP_ERRORS as err:
        return report_error(err)
    lock = work_dir_lock(cfg.work_dir) if method == 'train' else nullcontext()
    try:
        with lock:
            try:
                runner = build_runner(cfg)
            except SETUP_ERRORS as err:
                return report_error(err)
            getattr(runner, method)()
    except RUN_ERRORS as err:
        return report_error(err)
    return 0
