import pytest
import torch
from mmcv.cnn import ConvModule
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from torch import nn

import repvgg_seg
from numerics import randomize_bn, rel_err
from repvgg_seg.deploy import (fuse_repvgg_state_dict, identity_kernel,
                               pad_to_kernel_size, remaining_batchnorms)
from repvgg_seg.models import RepVGG


def test_identity_kernel_copies_input_per_group():
    x = torch.randn(1, 6, 5, 5, dtype=torch.float64)
    for groups in (1, 2, 3, 6):
        k = identity_kernel(6, groups)
        assert k.shape == (6, 6 // groups, 3, 3)
        y = torch.nn.functional.conv2d(x, k, padding=1, groups=groups)
        assert torch.equal(y, x)


def test_padded_1x1_equals_1x1_under_dilation():
    x = torch.randn(1, 4, 9, 9, dtype=torch.float64)
    k1 = torch.randn(4, 4, 1, 1, dtype=torch.float64)
    for d in (1, 2, 3):
        y3 = torch.nn.functional.conv2d(x, pad_to_kernel_size(k1, 3), padding=d,
                                        dilation=d)
        torch.testing.assert_close(y3, torch.nn.functional.conv2d(x, k1))
    with pytest.raises(ValueError, match='cannot pad'):
        pad_to_kernel_size(torch.zeros(1, 1, 3, 3), 1)


def test_state_dict_fusion_equals_module_fusion():
    model = randomize_bn(RepVGG(dict(num_blocks=(1, 2, 2, 2, 1),
                                     widths=(8, 8, 16, 16, 32), groups=2)))
    fused_state = fuse_repvgg_state_dict(model.state_dict())
    model.switch_to_deploy()
    deployed = model.state_dict()
    assert fused_state.keys() == deployed.keys()
    for k, v in deployed.items():
        torch.testing.assert_close(fused_state[k], v, rtol=0, atol=0, msg=k)


def test_convmodule_sequential_and_plain_bn_handling():
    model = nn.Sequential(
        ConvModule(3, 8, 3, padding=1, norm_cfg=dict(type='BN')),
        nn.Sequential(nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2, bias=True),
                      nn.BatchNorm2d(8), nn.ReLU()),
        ConvModule(8, 8, 1, norm_cfg=dict(type='BN'),
                   order=('norm', 'conv', 'act')),
    )
    randomize_bn(model).eval()
    x = torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        expected = model(x)
        repvgg_seg.switch_to_deploy(model)
        assert rel_err(model(x), expected) < 1e-5
    # A BN in front of its conv cannot be folded forward; it stays, by name.
    assert remaining_batchnorms(model) == ['2.bn']
    assert model[0].conv.bias is not None


def _pspnet(backbone: dict, channels: tuple) -> nn.Module:
    """A small PSPNet; ``channels`` are the (aux, last) feature widths."""
    norm = dict(type='SyncBN', requires_grad=True)
    cfg = dict(
        type='EncoderDecoder',
        backbone=backbone,
        decode_head=dict(type='PSPHead', in_channels=channels[1], in_index=-1,
                         channels=16, pool_scales=(1, 2, 3, 6), dropout_ratio=0.1,
                         num_classes=19, norm_cfg=norm, align_corners=False),
        auxiliary_head=dict(type='FCNHead', in_channels=channels[0], in_index=-2,
                            channels=8, num_convs=1, concat_input=False,
                            num_classes=19, norm_cfg=norm, align_corners=False),
        test_cfg=dict(mode='whole'))
    return MODELS.build(cfg)


_SYNC_BN = dict(type='SyncBN', requires_grad=True)
_RESNET_D8 = dict(type='ResNetV1c', num_stages=4, out_indices=(2, 3),
                  strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4),
                  contract_dilation=True, stem_channels=8, norm_cfg=_SYNC_BN)


@pytest.mark.parametrize('backbone, channels', [
    (dict(type='RepVGG', arch=dict(num_blocks=(1, 2, 2, 2, 1),
                                   widths=(8, 8, 16, 16, 32), groups=2),
          strides=(2, 2, 2, 1, 1), dilations=(1, 1, 1, 2, 4), out_indices=(3, 4),
          norm_cfg=_SYNC_BN), (16, 32)),
    (dict(_RESNET_D8, depth=18, base_channels=4), (16, 32)),
    # Bottleneck blocks expand 4x: base 2 gives 32 and 64 channels.
    (dict(_RESNET_D8, depth=50, base_channels=2), (32, 64)),
], ids=['repvgg', 'resnet18', 'resnet50'])
def test_deployed_pspnet_has_no_batchnorm_and_same_logits(backbone, channels):
    # Single-process runs turn SyncBN into _BatchNormXd, as mmengine's runner does.
    model = revert_sync_batchnorm(_pspnet(backbone, channels))
    randomize_bn(model).eval()
    x = torch.randn(2, 3, 65, 65)
    with torch.no_grad():
        expected = model(x, mode='tensor')
        assert repvgg_seg.switch_to_deploy(model) is model
        got = model(x, mode='tensor')
    assert remaining_batchnorms(model) == []
    assert rel_err(got, expected) < 1e-4
    state = {k: v.clone() for k, v in model.state_dict().items()}
    repvgg_seg.switch_to_deploy(model)
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in state.items())
