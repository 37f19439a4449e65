"""Checkpoints that any ``torch.load(weights_only=True)`` reads, without us.

mmengine's checkpoints hold its ``HistoryBuffer`` objects and numpy arrays and
scalars (the message hub, logged values, RNG states). Since torch 2.6 a plain
``torch.load`` refuses those, so without ``repvgg_seg``'s allow-list (e.g.
``MMSegInferencer`` with a config that lacks ``custom_imports``) our
checkpoints could not be read at all. This hook writes those few objects as
plain containers, lists and tensors, and turns them back when a checkpoint
is resumed, so nothing is lost and nothing needs to be trusted.
"""
from typing import Any

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmseg.registry import HOOKS

_TAG = '__repvgg_seg_portable__'


def _rebuild(value, items: list):
    """A tuple or list of ``value``'s type from ``items`` (namedtuples too)."""
    if isinstance(value, tuple) and hasattr(value, '_fields'):
        return type(value)(*items)
    return type(value)(items)


def to_portable(value: Any) -> Any:
    """Replace ``HistoryBuffer``, numeric numpy arrays and numpy scalars (at
    any depth of dicts, lists and tuples) by plain, tagged containers. What it
    cannot express plainly (object or string arrays, datetimes) is left as it
    is: the checkpoint then needs the allow-listed loader, as before."""
    if isinstance(value, HistoryBuffer):
        logs, counts = value.data
        return {_TAG: 'HistoryBuffer', 'log': np.asarray(logs).tolist(),
                'count': np.asarray(counts).tolist(),
                'max_length': value.max_length}
    if isinstance(value, np.ndarray) and value.dtype.kind in 'biuf':
        return {_TAG: 'ndarray', 'data': torch.from_numpy(np.ascontiguousarray(value))}
    if isinstance(value, np.generic) and value.dtype.kind in 'biuf':
        return value.item()
    if isinstance(value, dict):
        return {k: to_portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return _rebuild(value, [to_portable(v) for v in value])
    return value


def from_portable(value: Any) -> Any:
    """Undo :func:`to_portable` (plain values pass through)."""
    if isinstance(value, dict):
        kind = value.get(_TAG)
        if kind == 'HistoryBuffer':
            return HistoryBuffer(list(value['log']), list(value['count']),
                                 value['max_length'])
        if kind == 'ndarray':
            return value['data'].numpy()
        return {k: from_portable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return _rebuild(value, [from_portable(v) for v in value])
    return value


@HOOKS.register_module()
class PortableCheckpointHook(Hook):
    """Write checkpoints that load with ``weights_only=True`` anywhere.

    Runs last before a save (after hooks that add to the checkpoint, such as
    :class:`RNGStateHook`) and, on load, turns the plain containers back into
    what mmengine expects before the runner resumes from them. The model's
    weights are untouched. Checkpoints written without the hook load as
    before.
    """

    priority = 'LOWEST'

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key not in ('state_dict', 'optimizer'):
                checkpoint[key] = to_portable(checkpoint[key])

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        for key in list(checkpoint):
            if key not in ('state_dict', 'optimizer'):
                checkpoint[key] = from_portable(checkpoint[key])
