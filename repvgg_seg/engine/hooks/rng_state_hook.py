"""Save and restore random-number-generator states with checkpoints."""
import random

import numpy as np
import torch
from mmengine.hooks import Hook
from mmseg.registry import HOOKS


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
    """

    priority = 'VERY_LOW'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        state = dict(torch=torch.get_rng_state(), numpy=np.random.get_state(),
                     python=random.getstate())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        checkpoint['rng_state'] = state

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('rng_state')
        if state is None:
            return
        torch.set_rng_state(state['torch'])
        np.random.set_state(state['numpy'])
        random.setstate(state['python'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
