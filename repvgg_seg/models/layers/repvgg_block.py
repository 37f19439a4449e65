"""The RepVGG block in its training (multi-branch) and deploy (single conv) forms."""
from typing import Dict, Optional

import torch
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, build_activation_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from repvgg_seg.deploy.convert import Reparameterizable
from repvgg_seg.deploy.fusion import fuse_repvgg_branches


def _require_batchnorm(norm: nn.Module, norm_cfg: Dict) -> None:
    if not isinstance(norm, _BatchNorm):
        raise TypeError(
            'RepVGG needs BatchNorm (BN or SyncBN) to re-parameterize; '
            f'got norm_cfg={norm_cfg}')


class RepVGGBlock(BaseModule, Reparameterizable):
    """``ReLU(BN(conv3x3(x)) + BN(conv1x1(x)) + BN(x))``, or its fused 3x3 form.

    The identity BN exists only where ``in_channels == out_channels`` and
    ``stride == 1``. The 3x3 branch pads ``dilation`` and dilates by it; the 1x1
    branch pads 0. Both share stride and groups, so the 1x1 kernel lands on the
    3x3 kernel's centre tap and the fusion is exact for any dilation.

    Args:
        in_channels (int): Input channels.
        out_channels (int): Output channels.
        stride (int): Stride of both convs. Default: 1.
        dilation (int): Dilation (and padding) of the 3x3 conv. Default: 1.
        groups (int): Groups of both convs. Default: 1.
        deploy (bool): Build the fused single-conv form directly.
            Default: False.
        norm_cfg (dict): A BatchNorm config (BN, SyncBN); other norms cannot
            be folded into a conv. Default: ``dict(type='BN')``.
        act_cfg (dict, optional): Activation after the sum. Default: ReLU.
        with_cp (bool): Trade compute for memory with activation
            checkpointing of the branches during training. Default: False.
        init_cfg (dict, optional): mmengine initialization config.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 dilation: int = 1,
                 groups: int = 1,
                 deploy: bool = False,
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Optional[Dict] = dict(type='ReLU'),
                 with_cp: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        if in_channels % groups or out_channels % groups:
            raise ValueError(
                f'groups={groups} must divide in_channels={in_channels} and '
                f'out_channels={out_channels}')
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.stride = stride
        self.dilation = dilation
        self.groups = groups
        self.with_cp = with_cp
        self.norm_cfg = norm_cfg

        if deploy:
            self.branch_reparam = self._build_reparam_conv()
        else:
            self._build_branches()
        self.act = build_activation_layer(act_cfg) if act_cfg else nn.Identity()

    # Modules of the training form, removed by switch_to_deploy.
    _branch_names = ('branch_3x3', 'branch_1x1', 'branch_identity')

    @property
    def has_identity(self) -> bool:
        """Whether the block has an identity branch (same width, stride 1)."""
        return self.in_channels == self.out_channels and self.stride == 1

    def _dense_branch(self) -> ConvModule:
        """The 3x3 conv + BN branch both block kinds share."""
        return ConvModule(
            self.in_channels, self.out_channels, 3, stride=self.stride,
            padding=self.dilation, dilation=self.dilation, groups=self.groups,
            norm_cfg=self.norm_cfg, act_cfg=None)

    def _build_branches(self) -> None:
        self.branch_3x3 = self._dense_branch()
        self.branch_1x1 = ConvModule(
            self.in_channels, self.out_channels, 1, stride=self.stride,
            padding=0, groups=self.groups, norm_cfg=self.norm_cfg, act_cfg=None)
        self.branch_identity = (build_norm_layer(self.norm_cfg, self.in_channels)[1]
                                if self.has_identity else None)
        _require_batchnorm(self.branch_3x3.norm, self.norm_cfg)

    @property
    def deploy(self) -> bool:
        """Whether the block is in its fused, single-conv form."""
        return hasattr(self, 'branch_reparam')

    def _build_reparam_conv(self) -> nn.Conv2d:
        return nn.Conv2d(self.in_channels, self.out_channels, 3,
                         stride=self.stride, padding=self.dilation,
                         dilation=self.dilation, groups=self.groups, bias=True)

    def _branches(self, x: Tensor) -> Tensor:
        if self.deploy:
            return self.branch_reparam(x)
        out = self.branch_3x3(x) + self.branch_1x1(x)
        if self.branch_identity is not None:
            out = out + self.branch_identity(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(self._branches, x, use_reentrant=False)
        else:
            out = self._branches(x)
        return self.act(out)

    def equivalent_kernel_bias(self) -> tuple:
        """The fused conv's kernel and bias (float64), from the current
        weights and BN running statistics."""
        if self.deploy:
            return (self.branch_reparam.weight.detach().double(),
                    self.branch_reparam.bias.detach().double())
        return fuse_repvgg_branches(self.state_dict(),
                                    eps=self.branch_3x3.norm.eps)

    @torch.no_grad()
    def switch_to_deploy(self) -> None:
        """Replace the branches with one equivalent 3x3 conv, in place.

        Uses the BN running statistics whatever the module's mode is, and keeps
        the device, dtype and ``requires_grad`` of the dense kernel. Calling it
        again is a no-op.
        """
        if self.deploy:
            return
        kernel, bias = self.equivalent_kernel_bias()
        dense = self.branch_3x3.conv.weight
        conv = self._build_reparam_conv().to(device=dense.device,
                                             dtype=dense.dtype)
        conv.weight.copy_(kernel.to(dense.dtype))
        conv.bias.copy_(bias.to(dense.dtype))
        conv.requires_grad_(dense.requires_grad)
        conv.train(self.training)
        for name in self._branch_names:
            delattr(self, name)
        self.branch_reparam = conv
