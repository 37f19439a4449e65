"""Refuse a checkpoint that does not fit the model, before it is loaded."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import BaseTTAModel, is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from repvgg_seg.checkpoint import (CheckpointMismatchError, describe_mismatch,
                                   extract_state_dict)
from .deploy_hook import deploy_form_error


def fit_error(model: nn.Module, checkpoint: dict,
              source: str) -> Optional[CheckpointMismatchError]:
    """Why ``checkpoint`` cannot be loaded into ``model`` as it is, or None.

    Deploy-form weights for a training-form model get their own message. A
    checkpoint without an auxiliary head fits a model with one: testing
    never runs it (``tools/convert_checkpoint.py --segmentor`` drops it).
    """
    if isinstance(model, BaseTTAModel):
        model = model.module
    state = extract_state_dict(checkpoint)
    error = deploy_form_error(model, state)
    if error is not None:
        return error
    ignore = () if any(k.startswith('auxiliary_head.') for k in state) else (
        'auxiliary_head.', )
    problems = describe_mismatch(model, state, source, ignore_missing=ignore)
    return CheckpointMismatchError(problems) if problems else None


@HOOKS.register_module()
class CheckpointFitHook(Hook):
    """Stop a run whose ``load_from`` checkpoint does not fit the model.

    mmengine loads ``load_from`` non-strictly: a checkpoint of another config
    (other head widths, another arch, the other RepVGG form) leaves layers at
    random initialisation, logs a warning, and the test reports a wrong mIoU
    with exit status 0. ``tools/test.py`` checks this before the runner
    starts (:func:`fit_error` on the model built on the meta device, in
    :func:`repvgg_seg.engine.setup.setup_test_cfg`); this hook
    is the same check for models that cannot be built on the meta device,
    run on the real model just before loading. ``--non-strict`` leaves both
    out.
    """

    priority = 'LOWEST'

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        error = fit_error(model, checkpoint, str(runner._load_from))
        if error is not None:
            raise error
