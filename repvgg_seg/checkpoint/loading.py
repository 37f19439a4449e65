"""Loading RepVGG weights into a backbone, and writing converted checkpoints."""
import os
from typing import Dict, Optional, Tuple, Union

import torch
from mmengine.logging import print_log
from torch import Tensor, nn

from repvgg_seg.deploy.fusion import fuse_repvgg_state_dict
from repvgg_seg.text import first_few
from .describe import describe_state
from .layouts import (ConvertedCheckpoint, extract_state_dict,
                      fused_block_keys, to_repvgg_seg_layout)
from .safe_load import read_checkpoint

PathLike = Union[str, os.PathLike]


class CheckpointMismatchError(ValueError):
    """Checkpoint tensors do not fit the model; the message names the keys."""


class DeployCheckpointError(CheckpointMismatchError):
    """A fused (deploy-form) checkpoint was given to a training-form model."""


def describe_mismatch(module: nn.Module, state_dict: Dict[str, Tensor],
                      source: str = 'checkpoint', fix: Optional[str] = None,
                      ignore_missing: Tuple[str, ...] = ()) -> str:
    """Why ``state_dict`` does not fit ``module``, or ``''`` when it does.

    Missing ``num_batches_tracked`` buffers are tolerated (some releases drop
    them); everything else must match in name and shape. The message names
    the first few missing, unexpected and mis-shaped keys with their counts,
    what the checkpoint and the model are (form, RepVGG arch, heads) and what
    to do (``fix``, or a hint from the two descriptions).
    """
    own = module.state_dict()
    missing = [k for k in own if k not in state_dict
               and not k.endswith('num_batches_tracked')
               and not k.startswith(ignore_missing)]
    unexpected = [k for k in state_dict if k not in own]
    wrong_shape = [
        f'{k} (checkpoint {tuple(v.shape)}, model {tuple(own[k].shape)})'
        for k, v in state_dict.items() if k in own and v.shape != own[k].shape
    ]
    problems = []
    if missing:
        problems.append(f'missing in checkpoint: {first_few(missing)}')
    if unexpected:
        problems.append(f'not in model: {first_few(unexpected)}')
    if wrong_shape:
        problems.append(f'shape mismatch: {first_few(wrong_shape)}')
    if not problems:
        return ''
    ours = describe_state(own)
    theirs = describe_state(state_dict)
    return (f'{source} does not fit {type(module).__name__}: '
            + '; '.join(problems)
            + f'\n  the checkpoint holds: {theirs}\n  the model is: {ours}'
            + f'\n  to fix: {fix or _fit_hint(own, state_dict)}')


def _fit_hint(own: Dict, state: Dict) -> str:
    fused_ckpt, fused_model = bool(fused_block_keys(state)), bool(fused_block_keys(own))
    if fused_ckpt and not fused_model:
        return ('this is a deploy-form checkpoint: tools/infer.py, '
                'tools/benchmark.py, tools/export_onnx.py and tools/quantize.py '
                'take it as it is; test the training checkpoint with '
                'tools/test.py --deploy')
    if fused_model and not fused_ckpt:
        return ('the config builds the deploy form (model.backbone.deploy=True) '
                'but the checkpoint is training-form: drop that setting (tools/'
                'test.py --deploy re-parameterizes after loading)')
    return ('use the config the checkpoint was trained with (the run\'s work '
            'dir keeps a copy of it); to load only the tensors that fit on '
            'purpose, tools/test.py, tools/infer.py and tools/quantize.py take '
            '--non-strict')


def load_state_dict_checked(module: nn.Module, state_dict: Dict[str, Tensor],
                            source: str = 'checkpoint',
                            fix: Optional[str] = None) -> None:
    """Load strictly, or raise one error naming every kind of mismatch
    (see :func:`describe_mismatch`). ``module`` is left untouched when the
    check fails."""
    problems = describe_mismatch(module, state_dict, source, fix)
    if problems:
        raise CheckpointMismatchError(problems)
    module.load_state_dict(state_dict, strict=False)


def load_repvgg_pretrained(backbone: nn.Module, filename: PathLike,
                           prefix: Optional[str] = None,
                           map_location: str = 'cpu') -> ConvertedCheckpoint:
    """Load ImageNet (or any) RepVGG weights into a RepVGG backbone.

    The layout (authors', timm, mmpretrain, this project's classifier or
    segmentor) and the form (training or deploy) are recognised from the keys.
    A training-form checkpoint loads into a ``deploy=True`` backbone by fusing
    it on the fly; classifier heads and decode heads in the file are ignored.

    Args:
        backbone (nn.Module): A :class:`~repvgg_seg.models.RepVGG`.
        filename (str | PathLike): Checkpoint path, or a URL mmengine knows
            (``https://``, ``open-mmlab://`` ...); read safely.
        prefix (str, optional): Only use keys under this prefix, stripped
            (e.g. ``'backbone.'`` for a classifier checkpoint).
        map_location (str): Where to load tensors. Default: 'cpu'.

    Returns:
        ConvertedCheckpoint: What was found in the file.

    Raises:
        FileNotFoundError: No such file.
        UnsafeCheckpointError: The file carries pickled code.
        CheckpointLayoutError: The keys are not a RepVGG layout.
        DeployCheckpointError: A fused checkpoint for a training-form model.
        CheckpointMismatchError: Keys or shapes do not fit (named).
    """
    source = os.fspath(filename)
    checkpoint = read_checkpoint(source, map_location)
    converted = to_repvgg_seg_layout(extract_state_dict(checkpoint), prefix)
    if converted.unmapped:
        raise CheckpointMismatchError(
            f'{source} has backbone weights that RepVGG has no place for: '
            f'{first_few(converted.unmapped)}')
    state = converted.backbone
    if converted.form == 'deploy' and not backbone.deploy:
        raise DeployCheckpointError(
            f'{source} holds fused (deploy-form) RepVGG weights '
            f'({converted.layout} layout), which cannot be split back into '
            'branches: build the backbone with deploy=True to load it.')
    if converted.form == 'train' and backbone.deploy:
        identity = {f'{name}.': block.has_identity
                    for name, block in backbone.named_modules()
                    if hasattr(block, 'has_identity')}
        state = fuse_repvgg_state_dict(
            state, eps=backbone.norm_cfg.get('eps', 1e-5), has_identity=identity)
    load_state_dict_checked(
        backbone, state, source,
        fix='give ImageNet weights of the backbone\'s arch, or set '
        'model.backbone.arch to the checkpoint\'s')
    print_log(
        f'Loaded {len(state)} tensors of a {converted.layout}-layout '
        f'{converted.form}-form RepVGG checkpoint from {source}'
        + (' (fused on load)' if converted.form == 'train' and backbone.deploy
           else '')
        + (f'; ignored {len(converted.head)} classifier and '
           f'{len(converted.ignored)} other tensors'
           if converted.head or converted.ignored else ''),
        logger='current')
    return converted


def refuse_overwrite(src: PathLike, dst: PathLike) -> None:
    """A converted file never replaces its source.

    Raises:
        ValueError: ``dst`` is ``src`` (same path or same file).
    """
    src, dst = os.fspath(src), os.fspath(dst)
    same = os.path.abspath(src) == os.path.abspath(dst) or (
        os.path.exists(dst) and os.path.samefile(src, dst))
    if same:
        raise ValueError(f'the output {dst} is the input: converting in place '
                         'would lose the original; name another output file')


def convert_checkpoint_file(src: PathLike, dst: PathLike, to: str = 'train',
                            prefix: Optional[str] = None,
                            eps: float = 1e-5) -> ConvertedCheckpoint:
    """Rewrite any known RepVGG checkpoint in this project's layout.

    The output is ``{'state_dict': {'backbone.<ours>': ..., 'head.fc.*': ...},
    'meta': {...}}``: loadable as ``init_cfg=Pretrained`` by a RepVGG backbone
    and as a classifier checkpoint.

    Args:
        src (str | PathLike): Source checkpoint, any known layout.
        dst (str | PathLike): Output path.
        to (str): 'train' keeps the source form (a deploy source stays
            deploy); 'deploy' fuses a training-form source.
        prefix (str, optional): See :func:`load_repvgg_pretrained`.
        eps (float): BatchNorm epsilon used when fusing. Default: 1e-5.

    Returns:
        ConvertedCheckpoint: The converted tensors (after fusion, if any).
    """
    if to not in ('train', 'deploy'):
        raise ValueError(f"to must be 'train' or 'deploy', got {to!r}")
    refuse_overwrite(src, dst)
    converted = to_repvgg_seg_layout(
        extract_state_dict(read_checkpoint(src)), prefix)
    if converted.unmapped:
        raise CheckpointMismatchError(
            f'{src} has backbone weights RepVGG has no place for: '
            f'{first_few(converted.unmapped)}')
    if to == 'deploy' and converted.form == 'train':
        converted.backbone = fuse_repvgg_state_dict(converted.backbone, eps)
        converted.form = 'deploy'
    state = {f'backbone.{k}': v for k, v in converted.backbone.items()}
    state.update({f'head.{k}': v for k, v in converted.head.items()})
    meta = dict(source=os.fspath(src), source_layout=converted.layout,
                form=converted.form)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    torch.save(dict(state_dict=state, meta=meta), dst)
    return converted
