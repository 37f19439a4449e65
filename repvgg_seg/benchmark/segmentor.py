"""A segmentor built from a config for measuring: random or given weights.

The paper's speed protocol times the model alone: backbone and decode head, no
auxiliary head, no data pre-processing and no post-processing. That is
mmseg's ``EncoderDecoder._forward`` (``extract_feat`` then
``decode_head.forward``), whose logits are at the decode head's resolution
(1/8 of the input for the Table 8 PSPNets). :class:`SegmentorForward` wraps
exactly that path in a module, so hooks, ``torch.compile``, CUDA graphs and the
ONNX exporter all see one plain ``Tensor -> Tensor`` forward.
"""
import copy
import os
import os.path as osp
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import Tensor, nn

from repvgg_seg.checkpoint import (CheckpointMismatchError, extract_state_dict,
                                   fused_block_keys, load_state_dict_checked,
                                   read_checkpoint)
from repvgg_seg.deploy import (Reparameterizable, remaining_batchnorms,
                               switch_to_deploy)
from repvgg_seg.engine.cli import load_config  # noqa: F401  (re-exported)

PathLike = Union[str, os.PathLike]


def config_name(path: PathLike) -> str:
    """The name a config goes by in tables: its file name without ``.py``."""
    return osp.splitext(osp.basename(os.fspath(path)))[0]


def _drop_pretrained(model_cfg: dict) -> None:
    """Random weights for measuring: ImageNet files need not exist."""
    model_cfg.pop('pretrained', None)
    for part in ('backbone', 'decode_head', 'auxiliary_head', 'neck'):
        sub = model_cfg.get(part)
        if isinstance(sub, dict):
            sub.pop('init_cfg', None)
            sub.pop('pretrained', None)


def build_segmentor(cfg: Config,
                    checkpoint: Optional[PathLike] = None,
                    device: Union[str, torch.device] = 'cpu',
                    keep_auxiliary_head: bool = False) -> nn.Module:
    """Build the config's segmentor in eval mode, ready to time or export.

    ``init_weights`` is not called, so without ``checkpoint`` the weights are
    the layers' default random initialisation (speed does not depend on
    values). SyncBN becomes BN so one process can run it. A deploy-form
    checkpoint (fused RepVGG blocks, as written after ``switch_to_deploy``)
    is detected and loaded into a deployed model.

    Args:
        cfg (Config): A segmentation config (``cfg.model`` is used).
        checkpoint (str | PathLike, optional): Weights, read with the safe
            loader; checked strictly against the model.
        device (str | torch.device): Where to put the model. ``'meta'`` builds
            it without allocating memory (shapes only, for counting).
        keep_auxiliary_head (bool): Keep the auxiliary head. The speed
            protocol never runs it, so by default it is removed to free its
            memory. Default: False.

    Returns:
        nn.Module: The segmentor (an mmseg ``EncoderDecoder``), eval mode.
    """
    import repvgg_seg  # noqa: F401  (registers the RepVGG backbone)
    from mmseg.registry import MODELS

    init_default_scope(cfg.get('default_scope', 'mmseg'))
    model_cfg = copy.deepcopy(cfg.model)
    _drop_pretrained(model_cfg)
    device = torch.device(device)
    if device.type == 'meta':
        with torch.device('meta'):
            model = MODELS.build(model_cfg)
    else:
        model = MODELS.build(model_cfg)
    model = revert_sync_batchnorm(model)

    if not keep_auxiliary_head:
        model.auxiliary_head = None
    if checkpoint is not None:
        state = extract_state_dict(read_checkpoint(checkpoint))
        if not keep_auxiliary_head:
            state = {k: v for k, v in state.items()
                     if not k.startswith('auxiliary_head.')}
        _load_state(model, state, os.fspath(checkpoint))
    return model.to(device).eval()


def _load_state(model: nn.Module, state: dict, source: str) -> None:
    """Load a training-form or deploy-form segmentor state dict, strictly.

    A deploy-form file has fused RepVGG blocks and may or may not have its
    heads' conv+BN pairs fused too; the model is converted to match.
    """
    if not fused_block_keys(state):
        load_state_dict_checked(model, state, source=source)
        return
    for module in model.modules():
        if isinstance(module, Reparameterizable):
            module.switch_to_deploy()
    try:
        load_state_dict_checked(model, state, source=source)
    except CheckpointMismatchError:
        # Heads fused as well (the whole segmentor went through
        # switch_to_deploy before saving); the failed load changed nothing.
        switch_to_deploy(model)
        load_state_dict_checked(model, state, source=source)


def has_training_form(model: nn.Module) -> bool:
    """False when weights came in deploy form: fused RepVGG blocks cannot be
    split back into branches, so there is no training form to run."""
    return not any(m.deploy for m in model.modules()
                   if isinstance(m, Reparameterizable))


def is_deployed(model: nn.Module) -> bool:
    """Whether ``model`` holds no training-form RepVGG block and no BN."""
    return not remaining_batchnorms(model) and all(
        m.deploy for m in model.modules() if isinstance(m, Reparameterizable))


class SegmentorForward(nn.Module):
    """``images -> logits`` through backbone, neck and decode head only.

    Equals mmseg's ``EncoderDecoder._forward`` (no auxiliary head, no
    post-processing). With ``resize_to_input`` the logits are bilinearly
    resized to the input size exactly as ``decode_head.predict_by_feat``
    does in ``encode_decode`` (the head's own ``align_corners``).

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder``.
        resize_to_input (bool): Logits at input resolution instead of the
            head's output stride. Default: False.
    """

    def __init__(self, segmentor: nn.Module, resize_to_input: bool = False) -> None:
        super().__init__()
        self.segmentor = segmentor
        self.resize_to_input = resize_to_input

    def forward(self, inputs: Tensor) -> Tensor:
        logits = self.segmentor._forward(inputs)
        if self.resize_to_input:
            logits = F.interpolate(
                logits, size=inputs.shape[2:], mode='bilinear',
                align_corners=self.segmentor.decode_head.align_corners)
        return logits
