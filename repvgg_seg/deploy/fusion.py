"""Structural re-parameterization maths (RepVGG paper, Sec. 3.3, Eq. 3).

Every fusion in the project goes through these functions: the RepVGG and
QARepVGG blocks' branch merges, the whole-model conv+BN walk and the loader that fuses a
training-form checkpoint on the fly.

The arithmetic runs in float64 and is cast back to the conv's dtype at the end,
so the fused model matches the multi-branch one to float32 rounding.
"""
from typing import Dict, Mapping, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

KernelBias = Tuple[Tensor, Tensor]


def fold_batchnorm(kernel: Tensor, conv_bias: Optional[Tensor], mean: Tensor,
                   var: Tensor, gamma: Optional[Tensor], beta: Optional[Tensor],
                   eps: float) -> KernelBias:
    """Fold eval-mode BatchNorm statistics into the conv that feeds the BN.

    ``W' = W * gamma / sigma`` and ``b' = beta + (b - mu) * gamma / sigma`` with
    ``sigma = sqrt(var + eps)``, per output channel. Valid for any conv shape
    (grouped, dilated, 1x1) because only the output-channel axis is scaled.

    Args:
        kernel (Tensor): Conv weight ``(C_out, C_in / groups, kh, kw)``.
        conv_bias (Tensor, optional): Conv bias ``(C_out,)`` or None.
        mean (Tensor): BN running mean.
        var (Tensor): BN running variance.
        gamma (Tensor, optional): BN weight; None for a BN without affine.
        beta (Tensor, optional): BN bias; None for a BN without affine.
        eps (float): BN epsilon.

    Returns:
        tuple[Tensor, Tensor]: Fused kernel and bias, in float64.
    """
    mean = mean.detach().double()
    std = (var.detach().double() + eps).sqrt()
    gamma = gamma.detach().double() if gamma is not None else torch.ones_like(mean)
    beta = beta.detach().double() if beta is not None else torch.zeros_like(mean)
    conv_bias = (conv_bias.detach().double()
                 if conv_bias is not None else torch.zeros_like(mean))
    scale = gamma / std
    return (kernel.detach().double() * scale.reshape(-1, 1, 1, 1),
            beta + (conv_bias - mean) * scale)


def fold_batchnorm_module(kernel: Tensor, conv_bias: Optional[Tensor],
                          bn: _BatchNorm) -> KernelBias:
    """:func:`fold_batchnorm` with the statistics read from a BN module.

    The running statistics are used whatever mode ``bn`` is in (BN, SyncBN and
    mmengine's ``_BatchNormXd`` alike).
    """
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(
            f'{type(bn).__name__} has no running statistics '
            '(track_running_stats=False), so it cannot be folded into a conv.')
    return fold_batchnorm(kernel, conv_bias, bn.running_mean, bn.running_var,
                          bn.weight, bn.bias, bn.eps)


def identity_kernel(channels: int, groups: int = 1, kernel_size: int = 3,
                    device: Optional[torch.device] = None) -> Tensor:
    """A grouped conv kernel that copies its input (the identity branch).

    Args:
        channels (int): Input (= output) channels.
        groups (int): Groups of the conv the identity is merged into; each
            output channel reads its own channel inside its group.
        kernel_size (int): Odd spatial size; the one sits at the centre tap.
        device (torch.device, optional): Where to allocate.

    Returns:
        Tensor: Float64 kernel of shape
        ``(channels, channels // groups, kernel_size, kernel_size)``.
    """
    in_per_group = channels // groups
    kernel = torch.zeros(channels, in_per_group, kernel_size, kernel_size,
                         dtype=torch.float64, device=device)
    centre = kernel_size // 2
    out_idx = torch.arange(channels, device=device)
    kernel[out_idx, out_idx % in_per_group, centre, centre] = 1.0
    return kernel


def pad_to_kernel_size(kernel: Tensor, kernel_size: int) -> Tensor:
    """Zero-pad a smaller odd kernel (e.g. 1x1) to ``kernel_size`` at the centre.

    The centre tap of a dilated kernel still sits at offset 0, so the padded
    kernel is exact for any dilation as long as the small branch had padding 0
    and the large one padding ``dilation * (kernel_size // 2)``.
    """
    pad = (kernel_size - kernel.shape[-1]) // 2
    if pad < 0:
        raise ValueError(f'cannot pad a {kernel.shape[-1]}x{kernel.shape[-1]} '
                         f'kernel down to {kernel_size}x{kernel_size}')
    return F.pad(kernel, [pad, pad, pad, pad])


def fuse_conv_bn_(conv: nn.Conv2d, bn: _BatchNorm) -> nn.Conv2d:
    """Fold ``bn`` into ``conv`` in place and return the conv.

    The caller is responsible for removing ``bn`` from the forward path.
    """
    kernel, bias = fold_batchnorm_module(conv.weight, conv.bias, bn)
    with torch.no_grad():
        conv.weight.copy_(kernel.to(conv.weight.dtype))
        if conv.bias is None:
            conv.bias = nn.Parameter(
                bias.to(device=conv.weight.device, dtype=conv.weight.dtype),
                requires_grad=conv.weight.requires_grad)
        else:
            conv.bias.copy_(bias.to(conv.bias.dtype))
    return conv


def _fold_state_bn(state: Mapping[str, Tensor], bn_prefix: str, kernel: Tensor,
                   eps: float, conv_bias: Optional[Tensor] = None) -> KernelBias:
    """:func:`fold_batchnorm` with the BN's tensors read from ``state``
    under ``bn_prefix`` (weight and bias are absent for a BN without affine)."""
    return fold_batchnorm(kernel, conv_bias, state[bn_prefix + 'running_mean'],
                          state[bn_prefix + 'running_var'],
                          state.get(bn_prefix + 'weight'),
                          state.get(bn_prefix + 'bias'), eps)


def _identity_for(dense: Tensor, kernel_size: int) -> Tensor:
    """The identity kernel that adds to ``dense``. Identity branches exist
    only where input and output channels match, so the groups follow from
    the dense kernel's shape: ``C_out / (C_in / g)``."""
    channels = dense.shape[0]
    return identity_kernel(channels, channels // dense.shape[1], kernel_size,
                           dense.device)


def fuse_repvgg_branches(state: Mapping[str, Tensor], eps: float,
                         kernel_size: int = 3) -> KernelBias:
    """Merge one RepVGG block's training-time branches into one conv (Eq. 3).

    Args:
        state (Mapping[str, Tensor]): The block's tensors under this project's
            names, relative to the block: ``branch_3x3.conv.weight``,
            ``branch_3x3.bn.{weight,bias,running_mean,running_var}``, the same
            for ``branch_1x1`` and, where the block has one,
            ``branch_identity.{weight,bias,running_mean,running_var}``.
        eps (float): Epsilon of the block's BatchNorms.
        kernel_size (int): Size of the dense kernel.

    Returns:
        tuple[Tensor, Tensor]: Kernel and bias of the equivalent conv, float64.
    """
    dense = state['branch_3x3.conv.weight']
    kernel, bias = _fold_state_bn(state, 'branch_3x3.bn.', dense, eps)
    if 'branch_1x1.conv.weight' in state:
        kernel_1x1, bias_1x1 = _fold_state_bn(
            state, 'branch_1x1.bn.', state['branch_1x1.conv.weight'], eps)
        kernel = kernel + pad_to_kernel_size(kernel_1x1, kernel_size)
        bias = bias + bias_1x1
    if 'branch_identity.running_mean' in state:
        kernel_id, bias_id = _fold_state_bn(
            state, 'branch_identity.', _identity_for(dense, kernel_size), eps)
        kernel = kernel + kernel_id
        bias = bias + bias_id
    return kernel, bias


def fuse_qarepvgg_branches(state: Mapping[str, Tensor], eps: float,
                           post_eps: Optional[float] = None,
                           has_identity: bool = False,
                           kernel_size: int = 3) -> KernelBias:
    """Merge one QARepVGG block into one conv: fold the 3x3 branch's BN, add the
    plain 1x1 kernel (centred) and the identity, then fold the post-sum BN.

    Args:
        state (Mapping[str, Tensor]): The block's tensors, relative to it:
            ``branch_3x3.conv.weight``, ``branch_3x3.bn.*``,
            ``branch_1x1.conv.weight`` and ``post_bn.*``.
        eps (float): Epsilon of the 3x3 branch's BN.
        post_eps (float, optional): Epsilon of the post-sum BN (default:
            ``eps``).
        has_identity (bool): Whether the block adds its input (the identity
            carries no tensor, so the caller says; see
            ``QARepVGGBlock.has_identity``).
        kernel_size (int): Size of the dense kernel.

    Returns:
        tuple[Tensor, Tensor]: Kernel and bias of the equivalent conv, float64.
    """
    dense = state['branch_3x3.conv.weight']
    kernel, bias = _fold_state_bn(state, 'branch_3x3.bn.', dense, eps)
    kernel = kernel + pad_to_kernel_size(
        state['branch_1x1.conv.weight'].detach().double(), kernel_size)
    if has_identity:
        kernel = kernel + _identity_for(dense, kernel_size)
    return _fold_state_bn(state, 'post_bn.', kernel,
                          eps if post_eps is None else post_eps, conv_bias=bias)


_BRANCH_PREFIXES = ('branch_3x3.', 'branch_1x1.', 'branch_identity.', 'post_bn.')


def fuse_repvgg_state_dict(state_dict: Mapping[str, Tensor],
                           eps: float = 1e-5,
                           has_identity: Optional[Mapping[str, bool]] = None
                           ) -> Dict[str, Tensor]:
    """Turn a training-form state dict (this project's names) into deploy form.

    Every block ``P`` with ``P.branch_3x3.conv.weight`` becomes
    ``P.branch_reparam.{weight,bias}``; all other keys pass through unchanged.
    Tensors keep their dtype. RepVGG blocks are recognised by their branch
    BNs, QARepVGG blocks by ``P.post_bn.*``.

    Args:
        state_dict (Mapping[str, Tensor]): Training-form tensors.
        eps (float): BatchNorm epsilon the checkpoint was trained with.
        has_identity (Mapping[str, bool], optional): For QARepVGG blocks,
            whose identity carries no tensor: block prefix ``P`` (with its
            trailing dot) to whether the block adds its input.

    Returns:
        dict[str, Tensor]: The deploy-form state dict.

    Raises:
        ValueError: A QARepVGG block is not in ``has_identity``.
    """
    suffix = 'branch_3x3.conv.weight'
    block_prefixes = [k[:-len(suffix)] for k in state_dict if k.endswith(suffix)]
    fused: Dict[str, Tensor] = {}
    consumed = set()
    for prefix in block_prefixes:
        block_state = {
            k[len(prefix):]: v
            for k, v in state_dict.items()
            if k.startswith(prefix) and k[len(prefix):].startswith(_BRANCH_PREFIXES)
        }
        consumed.update(prefix + k for k in block_state)
        if 'post_bn.running_mean' in block_state:
            if has_identity is None or prefix not in has_identity:
                raise ValueError(
                    f'{prefix}: a QARepVGG block\'s identity branch has no '
                    'tensors, so whether it exists must come from the model: '
                    'load the checkpoint into the training-form model and call '
                    'switch_to_deploy instead')
            kernel, bias = fuse_qarepvgg_branches(
                block_state, eps, has_identity=has_identity[prefix])
        else:
            kernel, bias = fuse_repvgg_branches(block_state, eps)
        dtype = state_dict[prefix + suffix].dtype
        fused[prefix + 'branch_reparam.weight'] = kernel.to(dtype)
        fused[prefix + 'branch_reparam.bias'] = bias.to(dtype)
    for key, value in state_dict.items():
        if key not in consumed:
            fused[key] = value
    return fused
