"""Save and restore random-number-generator states with checkpoints."""
import random
from typing import Any, Dict, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from .portable_checkpoint_hook import from_portable


def get_rng_state() -> Dict[str, Any]:
    """The torch (CPU and CUDA), numpy and Python RNG states."""
    state = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                 python=random.getstate())
    if torch.cuda.is_available():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: Dict[str, Any]) -> None:
    """Put back what :func:`get_rng_state` returned."""
    torch.set_rng_state(state['torch'])
    np.random.set_state(state['numpy'])
    random.setstate(state['python'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make ``--resume`` continue exactly where training stopped.

    mmengine restores weights, optimizer, schedulers and the data order on
    resume, but re-seeds the RNGs, so dropout masks (and any transform run in
    the main process) after a resume differ from an uninterrupted run. This
    hook stores the torch (CPU and CUDA), numpy and Python RNG states in every
    checkpoint and puts them back when the checkpoint is resumed. Data worker
    processes are seeded by mmengine per worker and replay the skipped batches,
    so they need nothing here.

    Validation draws random numbers too (each new data-loader iterator takes
    a seed from torch's generator) and usually runs right after a checkpoint
    is saved, which a resumed run does not repeat. So the RNG states are put
    back after every validation: validating has no effect on training.
    """

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self._before_val: Optional[Dict[str, Any]] = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_state'] = get_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        # This hook runs before PortableCheckpointHook restores numpy arrays.
        state = from_portable(checkpoint.get('rng_state'))
        if state is not None:
            set_rng_state(state)

    def before_val(self, runner) -> None:
        self._before_val = get_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            set_rng_state(self._before_val)
            self._before_val = None
