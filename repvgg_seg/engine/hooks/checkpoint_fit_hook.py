"""Refuse a checkpoint that does not fit the model, before it is loaded."""
from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmseg.registry import HOOKS

from repvgg_seg.checkpoint import (CheckpointMismatchError, describe_mismatch,
                                   extract_state_dict)


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop a run whose ``load_from`` checkpoint does not fit the model.

    mmengine loads ``load_from`` non-strictly: a checkpoint of another config
    (other head widths, another arch, the other RepVGG form) leaves layers at
    random initialisation, logs a warning, and the test reports a wrong mIoU
    with exit status 0. This hook checks names and shapes first and raises
    :class:`CheckpointMismatchError` naming the keys, what the checkpoint is
    and what to do. ``tools/test.py --non-strict`` leaves it out.

    It runs after :class:`RepVGGDeployHook`, whose message for a deploy-form
    checkpoint is the more specific one.
    """

    priority = 'LOWEST'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if isinstance(model, BaseTTAModel):
            model = model.module
        problems = describe_mismatch(model, extract_state_dict(checkpoint),
                                     source=str(runner._load_from))
        if problems:
            raise CheckpointMismatchError(problems)
