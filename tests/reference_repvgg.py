"""An independent oracle for RepVGG, for tests only.

It implements the paper's block ``ReLU(BN(conv3x3 x) + BN(conv1x1 x) + BN(x))``
with ``F.conv2d``/``F.batch_norm`` on plain tensors and writes the same weights
under each checkpoint layout's literal key names (../shared/REFERENCE.md §3). It
shares no code with ``repvgg_seg``, so loading its files into ``RepVGG`` and
comparing outputs tests the package's key mapping and fusion end to end.
"""
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

BN_EPS = 1e-5
BN_KEYS = ('weight', 'bias', 'running_mean', 'running_var')


@dataclass
class Layer:
    stage: int
    index: int
    in_ch: int
    out_ch: int
    stride: int
    dilation: int
    groups: int

    @property
    def has_identity(self) -> bool:
        return self.in_ch == self.out_ch and self.stride == 1


# A small network written out layer by layer (not derived from repvgg_seg):
# arch=dict(num_blocks=(1, 2, 2, 2, 1), widths=(8, 8, 16, 16, 32), groups=2),
# strides=(2, 2, 2, 1, 1), dilations=(1, 1, 1, 2, (4,)).
SMALL_ARCH = dict(num_blocks=(1, 2, 2, 2, 1), widths=(8, 8, 16, 16, 32), groups=2)
SMALL_STRIDES = (2, 2, 2, 1, 1)
SMALL_DILATIONS = (1, 1, 1, 2, (4, ))
SMALL_LAYERS = [
    Layer(0, 0, 3, 8, 2, 1, 1),
    Layer(1, 0, 8, 8, 2, 1, 1), Layer(1, 1, 8, 8, 1, 1, 2),
    Layer(2, 0, 8, 16, 2, 1, 1), Layer(2, 1, 16, 16, 1, 1, 2),
    Layer(3, 0, 16, 16, 1, 2, 1), Layer(3, 1, 16, 16, 1, 2, 2),
    Layer(4, 0, 16, 32, 1, 4, 1),
]


def random_bn(channels: int, gen: torch.Generator) -> Dict[str, Tensor]:
    return dict(
        weight=torch.rand(channels, generator=gen) + 0.5,
        bias=torch.randn(channels, generator=gen) * 0.1,
        running_mean=torch.randn(channels, generator=gen) * 0.1,
        running_var=torch.rand(channels, generator=gen) + 0.5,
        num_batches_tracked=torch.tensor(7))


def random_params(layers: List[Layer], seed: int = 0) -> List[Dict]:
    """Per layer: dense/one/identity conv weights and BN statistics."""
    gen = torch.Generator().manual_seed(seed)
    params = []
    for layer in layers:
        cin_g = layer.in_ch // layer.groups
        p = dict(
            dense=torch.randn(layer.out_ch, cin_g, 3, 3, generator=gen) * 0.3,
            dense_bn=random_bn(layer.out_ch, gen),
            one=torch.randn(layer.out_ch, cin_g, 1, 1, generator=gen) * 0.3,
            one_bn=random_bn(layer.out_ch, gen),
            identity_bn=random_bn(layer.out_ch, gen) if layer.has_identity else None)
        params.append(p)
    return params


def _bn(x: Tensor, stats: Dict[str, Tensor]) -> Tensor:
    return F.batch_norm(x, stats['running_mean'], stats['running_var'],
                        stats['weight'], stats['bias'], False, 0.0, BN_EPS)


def reference_forward(x: Tensor, layers: List[Layer], params: List[Dict],
                      out_stages: Tuple[int, ...] = (4, )) -> List[Tensor]:
    outs = []
    for i, (layer, p) in enumerate(zip(layers, params)):
        y = _bn(F.conv2d(x, p['dense'], stride=layer.stride, padding=layer.dilation,
                         dilation=layer.dilation, groups=layer.groups), p['dense_bn'])
        y = y + _bn(F.conv2d(x, p['one'], stride=layer.stride, padding=0,
                             groups=layer.groups), p['one_bn'])
        if p['identity_bn'] is not None:
            y = y + _bn(x, p['identity_bn'])
        x = F.relu(y)
        last_of_stage = i + 1 == len(layers) or layers[i + 1].stage != layer.stage
        if last_of_stage and layer.stage in out_stages:
            outs.append(x)
    return outs


def reference_fused(layer: Layer, p: Dict) -> Tuple[Tensor, Tensor]:
    """The paper's Eq. 3, written out independently of repvgg_seg.deploy."""
    def fold(kernel, stats):
        std = (stats['running_var'] + BN_EPS).sqrt()
        t = stats['weight'] / std
        return kernel * t.reshape(-1, 1, 1, 1), stats['bias'] - stats['running_mean'] * t

    k, b = fold(p['dense'], p['dense_bn'])
    k1, b1 = fold(p['one'], p['one_bn'])
    k = k + F.pad(k1, [1, 1, 1, 1])
    b = b + b1
    if p['identity_bn'] is not None:
        cin_g = layer.in_ch // layer.groups
        eye = torch.zeros(layer.out_ch, cin_g, 3, 3)
        for c in range(layer.out_ch):
            eye[c, c % cin_g, 1, 1] = 1.0
        ki, bi = fold(eye, p['identity_bn'])
        k, b = k + ki, b + bi
    return k, b


# Literal key names of each layout (REFERENCE.md §3).
def _block_prefix(layout: str, layer: Layer) -> str:
    s, i = layer.stage, layer.index
    if layout == 'authors':
        return 'stage0.' if s == 0 else f'stage{s}.{i}.'
    if layout == 'timm':
        return 'stem.' if s == 0 else f'stages.{s - 1}.{i}.'
    if layout == 'mmpretrain':
        return 'backbone.stem.' if s == 0 else f'backbone.stage_{s}.{i}.'
    if layout == 'repvgg_seg':
        return f'backbone.stage{s}.{i}.'
    raise ValueError(layout)


_TRAIN_NAMES = {
    # layout: (dense conv, dense bn, 1x1 conv, 1x1 bn, identity bn)
    'authors': ('rbr_dense.conv.', 'rbr_dense.bn.', 'rbr_1x1.conv.', 'rbr_1x1.bn.',
                'rbr_identity.'),
    'timm': ('conv_kxk.conv.', 'conv_kxk.bn.', 'conv_1x1.conv.', 'conv_1x1.bn.',
             'identity.'),
    'mmpretrain': ('branch_3x3.conv.', 'branch_3x3.norm.', 'branch_1x1.conv.',
                   'branch_1x1.norm.', 'branch_norm.'),
    'repvgg_seg': ('branch_3x3.conv.', 'branch_3x3.bn.', 'branch_1x1.conv.',
                   'branch_1x1.bn.', 'branch_identity.'),
}
_DEPLOY_NAMES = {'authors': 'rbr_reparam.', 'timm': 'reparam_conv.',
                 'mmpretrain': 'branch_reparam.', 'repvgg_seg': 'branch_reparam.'}
_HEAD_NAMES = {'authors': 'linear.', 'timm': 'head.fc.', 'mmpretrain': 'head.fc.',
               'repvgg_seg': 'head.fc.'}


def layout_state_dict(layout: str, layers: List[Layer], params: List[Dict],
                      form: str = 'train', num_classes: Optional[int] = 10,
                      seed: int = 1) -> Dict[str, Tensor]:
    state: Dict[str, Tensor] = {}
    for layer, p in zip(layers, params):
        prefix = _block_prefix(layout, layer)
        if form == 'deploy':
            k, b = reference_fused(layer, p)
            state[prefix + _DEPLOY_NAMES[layout] + 'weight'] = k
            state[prefix + _DEPLOY_NAMES[layout] + 'bias'] = b
            continue
        dense, dense_bn, one, one_bn, ident = _TRAIN_NAMES[layout]
        state[prefix + dense + 'weight'] = p['dense']
        state[prefix + one + 'weight'] = p['one']
        for name, stats in ((dense_bn, p['dense_bn']), (one_bn, p['one_bn']),
                            (ident, p['identity_bn'])):
            if stats is not None:
                state.update({prefix + name + k: v for k, v in stats.items()})
    if num_classes:
        gen = torch.Generator().manual_seed(seed)
        width = layers[-1].out_ch
        state[_HEAD_NAMES[layout] + 'weight'] = torch.randn(num_classes, width,
                                                            generator=gen)
        state[_HEAD_NAMES[layout] + 'bias'] = torch.zeros(num_classes)
    return state
