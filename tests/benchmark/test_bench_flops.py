"""Multiply-add counting: exact on a hand-computed net, Table 8 at full size."""
import pytest
import torch
from torch import nn

from conftest import DEMO_CONFIG, REPO
from repvgg_seg.benchmark.flops import count_macs, count_macs_on_meta
from repvgg_seg.apis import build_segmentor, load_config
from repvgg_seg.deploy import switch_to_deploy


class TinyNet(nn.Module):

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.grouped = nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=2, bias=False)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.grouped(self.conv(x))
        x = self.grouped(nn.functional.pad(x, (3, 2, 3, 2)))  # called twice
        return self.fc(self.pool(x).flatten(1))


def test_hand_computed_macs_per_layer_and_image():
    # conv: 10*10 outputs x 8 channels x 3*3*3 taps      = 21600
    # grouped (1st call): 5*5 x 8 x (8/2)*3*3            =  7200
    # grouped (2nd call, 10x10 padded input -> 5x5)     =  7200
    # fc: 5 outputs x 8 inputs                           =    40
    count = count_macs(TinyNet(), torch.randn(2, 3, 10, 10))
    assert count.batch_size == 2
    assert count.per_module == {'conv': 2 * 21600, 'grouped': 2 * 14400, 'fc': 2 * 40}
    assert count.per_image == 21600 + 14400 + 40
    # Hooks are removed afterwards, and the meta path gives the same count.
    assert count_macs_on_meta(TinyNet(), (2, 3, 10, 10)).total == count.total


def _macs(model, shape):
    return count_macs_on_meta(model, shape, '_forward')


def test_deployed_repvgg_counts_fewer_macs_resnet_the_same():
    shape = (1, 3, 64, 64)
    model = build_segmentor(load_config(DEMO_CONFIG))
    train = _macs(model, shape)
    on_cpu = count_macs(model, torch.randn(*shape), model._forward)
    assert on_cpu.total == train.total  # meta counting equals a real forward
    one_by_one = sum(v for k, v in train.per_module.items() if 'branch_1x1' in k)
    switch_to_deploy(model)
    deploy = _macs(model, shape)
    # Folding removes exactly the 1x1 branches (identity BN never was a conv).
    assert one_by_one > 0 and train.total - deploy.total == one_by_one
    heads = deploy.by_prefix('decode_head')
    assert deploy.by_prefix('backbone') + heads == deploy.total
    assert 'auxiliary_head' not in ''.join(deploy.per_module)

    resnet = build_segmentor(load_config(REPO / 'configs/pspnet_r50.py'), device='meta')
    before = _macs(resnet, shape).total
    switch_to_deploy(resnet)
    assert _macs(resnet, shape).total == before


# REFERENCE.md, Table 8 configs at 713x713: B1g2 ~480 G, B2 ~821 G, R50-D8
# ~353 G, R101-D8 ~507 G (decode head included, auxiliary head excluded).
@pytest.mark.parametrize('name,expected', [
    ('pspnet_repvgg_b1g2', 480e9), ('pspnet_repvgg_b1g2_fast', 480e9),
    ('pspnet_repvgg_b2', 821e9), ('pspnet_repvgg_b2_fast', 821e9),
    ('pspnet_r50', 353e9), ('pspnet_r101', 507e9)])
def test_table8_macs_at_713(name, expected):
    model = build_segmentor(load_config(REPO / 'configs' / f'{name}.py'), device='meta')
    switch_to_deploy(model)
    macs = _macs(model, (1, 3, 713, 713)).per_image
    assert macs == pytest.approx(expected, rel=0.01)
