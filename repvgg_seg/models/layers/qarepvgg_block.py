"""The quantization-friendly RepVGG block (QARepVGG, "Make RepVGG Greater Again:
A Quantization-aware Approach", AAAI 2024).

RepVGG's BNs on the 1x1 and identity branches let each branch's scale drift
freely, so the fused kernel and the activations it produces span wide ranges
that 8-bit integers cover badly (the paper: RepVGG-A0 INT8 PTQ 52.2% top-1).
QARepVGG keeps BN only on the 3x3 branch, uses a plain 1x1 conv and a bare
identity, and normalises the sum with one BN before the ReLU (70.4%). It
re-parameterizes exactly like RepVGG, with the post-sum BN folded last.
"""
from typing import Tuple

from mmcv.cnn import ConvModule, build_norm_layer
from torch import Tensor, nn

from repvgg_seg.deploy.fusion import fuse_qarepvgg_branches
from .repvgg_block import RepVGGBlock, _require_batchnorm


class QARepVGGBlock(RepVGGBlock):
    """``ReLU(BN_post(BN(conv3x3(x)) + conv1x1(x) + x))``, or its fused 3x3 form.

    The identity term exists only where ``in_channels == out_channels`` and
    ``stride == 1``. Arguments, dilation, groups, ``with_cp`` and the deploy
    form are those of :class:`RepVGGBlock`; the state dict names the branches
    ``branch_3x3.{conv,bn}``, ``branch_1x1.conv`` (no bias) and ``post_bn``.
    """

    _branch_names = ('branch_3x3', 'branch_1x1', 'branch_identity', 'post_bn')

    def _build_branches(self) -> None:
        self.branch_3x3 = self._dense_branch()
        self.branch_1x1 = ConvModule(
            self.in_channels, self.out_channels, 1, stride=self.stride,
            padding=0, groups=self.groups, bias=False, norm_cfg=None,
            act_cfg=None)
        self.branch_identity = nn.Identity() if self.has_identity else None
        self.post_bn = build_norm_layer(self.norm_cfg, self.out_channels)[1]
        _require_batchnorm(self.branch_3x3.norm, self.norm_cfg)

    def _branches(self, x: Tensor) -> Tensor:
        out = super()._branches(x)
        return out if self.deploy else self.post_bn(out)

    def equivalent_kernel_bias(self) -> Tuple[Tensor, Tensor]:
        """The fused conv's kernel and bias (float64), from the current
        weights and BN running statistics."""
        if self.deploy:
            return super().equivalent_kernel_bias()
        return fuse_qarepvgg_branches(self.state_dict(), eps=self.branch_3x3.norm.eps,
                                      post_eps=self.post_bn.eps,
                                      has_identity=self.has_identity)
