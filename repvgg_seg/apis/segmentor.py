"""A config's segmentor, built for inference: random or given weights, either form.

The paper's speed protocol, the ONNX export and the INT8 calibration all run
the model alone: backbone and decode head, no auxiliary head, no data
pre-processing and no post-processing. That is mmseg's
``EncoderDecoder._forward`` (``extract_feat`` then ``decode_head.forward``),
whose logits are at the decode head's resolution (1/8 of the input for the
Table 8 PSPNets). :class:`SegmentorForward` wraps exactly that path in a
module, so hooks, ``torch.compile``, CUDA graphs and the ONNX exporter all see
one plain ``Tensor -> Tensor`` forward. :func:`init_segmentor` builds the whole
segmentor for ``mmseg.apis.inference_model`` (pre-processing, whole/slide
inference and metadata as mmseg's ``init_model`` gives them), but loads the
checkpoint strictly.
"""
import copy
import os
from typing import Optional, Union

import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.logging import print_log
from mmengine.model import revert_sync_batchnorm
from mmengine.registry import init_default_scope
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from repvgg_seg.checkpoint import (describe_mismatch,
                                   extract_state_dict, fused_block_keys,
                                   load_state_dict_checked, read_checkpoint,
                                   refuse_overwrite)
from repvgg_seg.datasets.checks import leaf_datasets
from repvgg_seg.deploy import (Reparameterizable, remaining_batchnorms,
                               switch_to_deploy)

PathLike = Union[str, os.PathLike]


def _drop_pretrained(model_cfg: dict) -> None:
    """Weights come from the checkpoint (or are random): ImageNet files need
    not exist."""
    model_cfg.pop('pretrained', None)
    for part in ('backbone', 'decode_head', 'auxiliary_head', 'neck'):
        sub = model_cfg.get(part)
        if isinstance(sub, dict):
            sub.pop('init_cfg', None)
            sub.pop('pretrained', None)


def build_segmentor(cfg: Config,
                    checkpoint: Optional[PathLike] = None,
                    device: Union[str, torch.device] = 'cpu',
                    keep_auxiliary_head: bool = False,
                    strict: bool = True) -> nn.Module:
    """Build the config's segmentor in eval mode, ready to run, time or export.

    ``init_weights`` is not called, so without ``checkpoint`` the weights are
    the layers' default random initialisation (speed does not depend on
    values). SyncBN becomes BN so one process can run it. A deploy-form
    checkpoint (fused RepVGG blocks, as written after ``switch_to_deploy``)
    is detected and loaded into a deployed model.

    Args:
        cfg (Config): A segmentation config (``cfg.model`` is used).
        checkpoint (str | PathLike, optional): Weights, read with the safe
            loader.
        device (str | torch.device): Where to put the model. ``'meta'`` builds
            it without allocating memory (shapes only, for counting).
        keep_auxiliary_head (bool): Keep the auxiliary head. Inference never
            runs it, so by default it is removed to free its memory.
            Default: False.
        strict (bool): Refuse a checkpoint whose keys or shapes do not fit
            the model (:class:`CheckpointMismatchError`, naming them). False
            loads what fits and warns about the rest. Default: True.

    Returns:
        nn.Module: The segmentor (an mmseg ``EncoderDecoder``), eval mode.
    """
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
        load_segmentor_weights(model, read_checkpoint(checkpoint),
                               os.fspath(checkpoint), strict=strict)
    return model.to(device).eval()


def load_segmentor_weights(model: nn.Module, checkpoint: dict, source: str,
                           strict: bool = True) -> None:
    """Load a training-form or deploy-form segmentor checkpoint.

    A deploy-form file has fused RepVGG blocks, and its heads' conv+BN pairs
    may be fused too (a whole segmentor through ``switch_to_deploy``); the
    model is converted to match, decided from the keys. An auxiliary head in
    the file is skipped when the model has none.

    Args:
        model (nn.Module): The segmentor, training form.
        checkpoint (dict): What :func:`read_checkpoint` returned.
        source (str): The file, for messages.
        strict (bool): See :func:`build_segmentor`.
    """
    state = extract_state_dict(checkpoint)
    if getattr(model, 'auxiliary_head', None) is None:
        state = {k: v for k, v in state.items()
                 if not k.startswith('auxiliary_head.')}
    if fused_block_keys(state):
        for module in model.modules():
            if isinstance(module, Reparameterizable):
                module.switch_to_deploy()
        if _heads_fused(model, state):
            switch_to_deploy(model)
    if strict:
        load_state_dict_checked(model, state, source=source)
        return
    problems = describe_mismatch(model, state, source)
    own = model.state_dict()
    model.load_state_dict({k: v for k, v in state.items()
                           if k in own and v.shape == own[k].shape}, strict=False)
    if problems:
        print_log(f'--non-strict: loaded what fits; {problems}', logger='current',
                  level=30)


def _heads_fused(model: nn.Module, state: dict) -> bool:
    """Whether the checkpoint's heads went through ``switch_to_deploy``: the
    model's head BNs have no statistics in it."""
    head_bns = [f'{name}.running_mean' for name, m in model.named_modules()
                if isinstance(m, _BatchNorm) and name.startswith('decode_head.')]
    return bool(head_bns) and not any(k in state for k in head_bns)


def dataset_meta_of(cfg: Config, checkpoint: dict) -> dict:
    """Classes and palette: the checkpoint's, else the test dataset's."""
    meta = checkpoint.get('meta', {}) if isinstance(checkpoint, dict) else {}
    if isinstance(meta, dict) and meta.get('dataset_meta'):
        return dict(meta['dataset_meta'])
    from mmseg.registry import DATASETS
    dataset_cfg = cfg.get('test_dataloader', {}).get('dataset', {})
    dataset_cfg = leaf_datasets(dataset_cfg)[0] if dataset_cfg else {}
    dataset_cls = DATASETS.get(dataset_cfg.get('type', 'CityscapesDataset'))
    metainfo = dict(getattr(dataset_cls, 'METAINFO', {}))
    metainfo.update(dataset_cfg.get('metainfo') or {})
    return metainfo


def init_segmentor(cfg: Config,
                   checkpoint: Optional[PathLike] = None,
                   device: Union[str, torch.device] = 'cpu',
                   deploy: bool = False,
                   strict: bool = True) -> nn.Module:
    """The segmentor ``mmseg.apis.inference_model`` expects, loaded strictly.

    Like mmseg's ``init_model`` (``model.cfg`` and ``model.dataset_meta`` set,
    eval mode), but the checkpoint must fit (see :func:`build_segmentor`),
    deploy-form files are accepted, and ``deploy`` re-parameterizes the whole
    model once.

    Args:
        cfg (Config): Segmentation config.
        checkpoint (str | PathLike, optional): Weights; random without.
        device (str | torch.device): Where to run.
        deploy (bool): Re-parameterize (RepVGG blocks, conv+BN pairs).
        strict (bool): See :func:`build_segmentor`.

    Returns:
        nn.Module: The segmentor, eval mode.
    """
    model = build_segmentor(cfg, None, 'cpu')
    state = {}
    if checkpoint is not None:
        state = read_checkpoint(checkpoint)
        load_segmentor_weights(model, state, os.fspath(checkpoint), strict)
    if deploy:
        switch_to_deploy(model)
    model.cfg = cfg
    model.dataset_meta = dataset_meta_of(cfg, state)
    return model.to(device).eval()


def save_segmentor(cfg: Config, src: PathLike, dst: PathLike,
                   deploy: bool = True) -> nn.Module:
    """Write a whole segmentor checkpoint, re-parameterized by default.

    The checkpoint is loaded strictly into ``cfg``'s model (auxiliary head
    dropped: inference never runs it), converted with ``switch_to_deploy``
    and saved as ``{'state_dict', 'meta'}`` with the dataset's classes and
    palette, which every tool here (and a plain ``torch.load``) reads.

    Returns:
        nn.Module: The saved model.
    """
    refuse_overwrite(src, dst)
    model = init_segmentor(cfg, src, 'cpu', deploy=deploy)
    meta = dict(source=os.fspath(src), config=cfg.filename or '',
                form='deploy' if deploy else 'train',
                dataset_meta={k: list(v) if isinstance(v, tuple) else v
                              for k, v in model.dataset_meta.items()})
    os.makedirs(os.path.dirname(os.path.abspath(dst)) or '.', exist_ok=True)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), os.fspath(dst))
    return model


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
