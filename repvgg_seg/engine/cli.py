"""Argument parsing and runner building shared by tools/train.py and tools/test.py."""
import argparse
import os
import sys
from typing import Callable, Optional, Sequence, Union

from mmengine.config import Config, DictAction
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

from repvgg_seg.checkpoint import (CheckpointLayoutError, CheckpointMismatchError,
                                   UnsafeCheckpointError)

# Bad input found while setting up or building (config values, files, an
# unknown arch or a wrong dilation list; mmengine re-raises build errors with
# the class named), and while running (checkpoints): one line, no traceback.
SETUP_ERRORS = (FileNotFoundError, KeyError, TypeError, ValueError)
RUN_ERRORS = (FileNotFoundError, UnsafeCheckpointError, CheckpointMismatchError,
              CheckpointLayoutError)


def add_runner_args(parser: argparse.ArgumentParser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. train_cfg.max_iters=100 '
        'model.backbone.init_cfg=None)')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    # torch.distributed.launch passes --local-rank; torchrun sets LOCAL_RANK.
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def parse_runner_args(parser: argparse.ArgumentParser,
                      argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    args = parser.parse_args(argv)
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def load_config(path: Union[str, os.PathLike],
                cfg_options: Optional[dict] = None) -> Config:
    """Read a config and apply ``--cfg-options`` style overrides.

    Args:
        path (str | PathLike): Config file.
        cfg_options (dict, optional): ``key.sub=value`` overrides.

    Returns:
        Config: The merged config.
    """
    cfg = Config.fromfile(os.fspath(path))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg


def build_runner(cfg: Config) -> Runner:
    """MMEngine's ``Runner``, or the config's own ``runner_type``."""
    return Runner.from_cfg(cfg) if 'runner_type' not in cfg else RUNNERS.build(cfg)


def _report(err: BaseException) -> int:
    message = err.args[0] if isinstance(err, KeyError) and err.args else err
    print(f'error: {type(err).__name__}: {message}', file=sys.stderr)
    return 1


def run_from_cfg(setup: Callable[[], Config], method: str) -> int:
    """Set up the config, build the runner and call ``runner.<method>()``.

    Args:
        setup (callable): Returns the prepared config (e.g. a
            ``setup_train_cfg`` call); its checks run first.
        method (str): ``'train'`` or ``'test'``.

    Returns:
        int: Exit status; 1 with a one-line message on bad input.
    """
    try:
        runner = build_runner(setup())
    except SETUP_ERRORS as err:
        return _report(err)
    try:
        getattr(runner, method)()
    except RUN_ERRORS as err:
        return _report(err)
    return 0
