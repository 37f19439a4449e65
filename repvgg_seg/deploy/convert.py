"""Whole-model deploy conversion: ``switch_to_deploy(model)``."""
import re
from typing import List

from mmengine.logging import print_log
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from repvgg_seg.text import first_few
from .fusion import fuse_conv_bn_


class Reparameterizable:
    """Marks a module that can turn itself into its inference-time form.

    Subclasses implement ``switch_to_deploy()`` (in place, idempotent) and a
    ``deploy`` flag. :func:`switch_to_deploy` calls it on every such module.
    """

    deploy: bool

    def switch_to_deploy(self) -> None:
        raise NotImplementedError


def _fuse_conv_module(module: nn.Module) -> int:
    """mmcv ``ConvModule`` whose norm directly follows its conv."""
    order = getattr(module, 'order', ())
    if not (getattr(module, 'with_norm', False) and 'conv' in order
            and 'norm' in order
            and order.index('norm') == order.index('conv') + 1):
        return 0
    if not (isinstance(module.conv, nn.Conv2d)
            and isinstance(module.norm, _BatchNorm)):
        return 0
    fuse_conv_bn_(module.conv, module.norm)
    setattr(module, module.norm_name, nn.Identity())
    return 1


def _fuse_sequential(module: nn.Module) -> int:
    """``nn.Sequential(..., Conv2d, BatchNorm, ...)`` (e.g. ResNet stems)."""
    if not isinstance(module, nn.Sequential):
        return 0
    fused = 0
    for i in range(len(module) - 1):
        if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1],
                                                           _BatchNorm):
            fuse_conv_bn_(module[i], module[i + 1])
            module[i + 1] = nn.Identity()
            fused += 1
    return fused


_NORM_NAME = re.compile(r'^norm(\d+)_name$')


def _fuse_numbered_pairs(module: nn.Module) -> int:
    """OpenMMLab residual blocks: ``self.convN`` followed by ``self.normN``.

    mmseg's ``BasicBlock``/``Bottleneck`` keep the BN's name in an instance
    attribute ``normN_name`` and apply it right after ``convN``.
    """
    fused = 0
    for attr in list(vars(module)):
        match = _NORM_NAME.match(attr)
        if not match:
            continue
        conv = getattr(module, f'conv{match.group(1)}', None)
        norm_name = getattr(module, attr)
        norm = getattr(module, norm_name, None)
        if isinstance(conv, nn.Conv2d) and isinstance(norm, _BatchNorm):
            fuse_conv_bn_(conv, norm)
            setattr(module, norm_name, nn.Identity())
            fused += 1
    return fused


def remaining_batchnorms(model: nn.Module) -> List[str]:
    """Names of the BatchNorm modules left in ``model``."""
    return [name for name, m in model.named_modules() if isinstance(m, _BatchNorm)]


def switch_to_deploy(model: nn.Module) -> nn.Module:
    """Convert a module tree to its inference-time form, in place.

    1. Every :class:`Reparameterizable` module (each RepVGG block) merges its
       branches into one 3x3 conv with bias.
    2. Every conv followed by a BatchNorm elsewhere is fused into the conv:
       mmcv ``ConvModule`` (decode heads), ``nn.Sequential`` pairs (ResNet
       stems and downsamples) and ``convN``/``normN`` pairs of OpenMMLab
       residual blocks. The BN is replaced by ``nn.Identity``.

    The maths uses the BN running statistics, i.e. the converted model equals
    the original one *in eval mode*. The train/eval mode is left unchanged; a
    model converted while in training mode keeps training mode but has no BN
    any more, so training it further is training a different network. Any BN
    that could not be paired with a conv is reported by a warning. Calling it
    again is a no-op.

    Args:
        model (nn.Module): Any module tree (backbone, segmentor, classifier).

    Returns:
        nn.Module: ``model`` itself.
    """
    blocks = [
        m for m in model.modules()
        if isinstance(m, Reparameterizable) and not m.deploy
    ]
    for block in blocks:
        block.switch_to_deploy()

    fused = 0
    for module in list(model.modules()):
        fused += (_fuse_conv_module(module) + _fuse_sequential(module)
                  + _fuse_numbered_pairs(module))

    left = remaining_batchnorms(model)
    if left:
        print_log(
            f'switch_to_deploy: {len(left)} BatchNorm layer(s) are not directly '
            f'after a conv and were kept: {first_few(left, 10)}',
            logger='current', level=30)
    print_log(
        f'switch_to_deploy: re-parameterized {len(blocks)} RepVGG block(s), '
        f'fused {fused} conv+BN pair(s)', logger='current')
    return model
