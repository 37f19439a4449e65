"""Report metrics of the deployed (re-parameterized) model during training."""
import copy
from typing import Optional

from mmengine import dist
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmseg.registry import HOOKS
from torch import nn

from repvgg_seg.checkpoint import DeployCheckpointError, fused_block_keys
from repvgg_seg.deploy import (Reparameterizable, remaining_batchnorms,
                               switch_to_deploy)


def _count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def deploy_form_error(model: nn.Module, state: dict) -> Optional[DeployCheckpointError]:
    """The error for fused (deploy-form) weights given to a training-form
    model, which the runner trains and tests as such; None when they fit."""
    fused = fused_block_keys(state)
    unfused = [name for name, m in model.named_modules()
               if isinstance(m, Reparameterizable) and not m.deploy]
    if not (fused and unfused):
        return None
    return DeployCheckpointError(
        f'The checkpoint holds fused (deploy-form) RepVGG weights (e.g. '
        f'{fused[0]}), but this config builds the training form (e.g. '
        f'{unfused[0]}), which the runner trains and tests. Give '
        'tools/test.py the training checkpoint (with --deploy it fuses '
        'it itself); fused files are for tools/infer.py, tools/benchmark.py '
        '--checkpoint, tools/export_onnx.py and tools/quantize.py, which take '
        'both forms.')


@HOOKS.register_module()
class RepVGGDeployHook(Hook):
    """Validate and test the plain model that will be deployed.

    Before each validation epoch the hook deep-copies the (unwrapped) model,
    converts the copy with :func:`repvgg_seg.switch_to_deploy` and lets the
    validation loop run on the copy; afterwards the runner gets its training
    model back untouched, so its weights, optimizer state and BN statistics are
    exactly what they would have been without the hook. Under DDP every rank
    validates a copy holding rank 0's weights and BN statistics (the model
    rank 0 checkpoints; per-process BN, as in CPU runs, lets the replicas'
    statistics drift apart) and the evaluator gathers the results as usual.

    Before testing the model is deployed in place, since nothing trains after.
    A checkpoint whose RepVGG blocks are already fused cannot be loaded into
    the training-form model the runner builds: that is a clear error, not a
    silently half-loaded model.

    The hook runs after hooks of higher priority (e.g. ``EMAHook``, which swaps
    in the averaged weights at ``before_val_epoch``) so that what gets deployed
    is what would have been evaluated.

    Args:
        deploy_on_val (bool): Validate a deployed copy. Default: True.
        deploy_on_test (bool): Deploy in place before testing. Default: True.
    """

    priority = 'LOW'

    def __init__(self, deploy_on_val: bool = True,
                 deploy_on_test: bool = True) -> None:
        self.deploy_on_val = deploy_on_val
        self.deploy_on_test = deploy_on_test
        self._training_model: Optional[nn.Module] = None

    @staticmethod
    def _unwrap(model: nn.Module) -> nn.Module:
        return model.module if is_model_wrapper(model) else model

    @staticmethod
    def _deploy(model: nn.Module, runner, what: str) -> None:
        before = _count_params(model)
        switch_to_deploy(model)
        left = remaining_batchnorms(model)
        runner.logger.info(
            f'RepVGGDeployHook: {what}: re-parameterized to the plain model '
            f'({before / 1e6:.2f}M -> {_count_params(model) / 1e6:.2f}M params'
            + (f'; {len(left)} BatchNorm layers could not be fused' if left else
               ', no BatchNorm left') + ')')

    def before_val_epoch(self, runner) -> None:
        if not self.deploy_on_val:
            return
        self._training_model = runner.model
        deployed = copy.deepcopy(self._unwrap(runner.model))
        if dist.get_world_size() > 1:
            for tensor in deployed.state_dict().values():
                dist.broadcast(tensor, src=0)
        deployed.eval()
        self._deploy(deployed, runner, 'validating a deployed copy')
        runner.model = deployed

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._training_model is not None:
            runner.model = self._training_model
            self._training_model = None

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        error = deploy_form_error(self._unwrap(runner.model),
                                  checkpoint.get('state_dict', checkpoint))
        if error is not None:
            raise error

    def before_test(self, runner) -> None:
        if self.deploy_on_test:
            self._deploy(self._unwrap(runner.model), runner, 'testing')
