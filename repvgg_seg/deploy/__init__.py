"""Structural re-parameterization: the fusion maths and the whole-model walk."""
from .convert import Reparameterizable, remaining_batchnorms, switch_to_deploy
from .fusion import (fold_batchnorm, fold_batchnorm_module, fuse_conv_bn_,
                     fuse_qarepvgg_branches, fuse_repvgg_branches,
                     fuse_repvgg_state_dict,
                     identity_kernel, pad_to_kernel_size)

__all__ = [
    'Reparameterizable', 'fold_batchnorm', 'fold_batchnorm_module',
    'fuse_conv_bn_', 'fuse_qarepvgg_branches', 'fuse_repvgg_branches', 'fuse_repvgg_state_dict',
    'identity_kernel', 'pad_to_kernel_size', 'remaining_batchnorms',
    'switch_to_deploy'
]
