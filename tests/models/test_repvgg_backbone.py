import pytest
import torch
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from numerics import randomize_bn, rel_err
from repvgg_seg.models import ARCH_SETTINGS, RepVGG, RepVGGBlock

# Inference-time params (M) of deploy backbone + 1000-way FC, paper Tables 4-5.
PAPER_PARAMS_M = {
    'A0': 8.30, 'A1': 12.78, 'A2': 25.49, 'B0': 14.33, 'B1': 51.82,
    'B1g2': 41.36, 'B1g4': 36.12, 'B2': 80.31, 'B2g4': 55.77, 'B3': 110.96,
    'B3g4': 75.62,
}

TINY = dict(num_blocks=(1, 2, 2, 2, 1), widths=(8, 8, 16, 16, 32), groups=2)


@pytest.mark.parametrize('arch', sorted(PAPER_PARAMS_M))
def test_inference_params_match_paper(arch):
    backbone = RepVGG(arch, deploy=True)
    fc = nn.Linear(backbone.out_channels[-1], 1000)
    params = sum(p.numel() for p in backbone.parameters()) + sum(
        p.numel() for p in fc.parameters())
    # The paper truncates to 0.01 M (A0 has 8,309,384 params and is listed as
    # 8.30), so compare the truncated figure exactly.
    assert params // 10_000 == round(PAPER_PARAMS_M[arch] * 100)


def test_every_paper_name_is_known_and_widths_follow_the_paper():
    assert set(ARCH_SETTINGS) == {'A0', 'A1', 'A2', 'B0', 'B1', 'B1g2', 'B1g4', 'B2',
                                  'B2g2', 'B2g4', 'B3', 'B3g2', 'B3g4'}
    assert ARCH_SETTINGS['A0']['widths'] == (48, 48, 96, 192, 1280)
    assert ARCH_SETTINGS['B2']['widths'] == (64, 160, 320, 640, 2560)
    assert ARCH_SETTINGS['B1']['num_blocks'] == (1, 4, 6, 16, 1)


def test_paper_group_pattern_counts_layers_from_stage1():
    backbone = RepVGG('B1g4')
    # Layers 2, 4, ..., 26 counted from 1 at stage 1's first layer.
    assert backbone.layer_groups[0] == (1, )
    assert backbone.layer_groups[1] == (1, 4, 1, 4)
    assert backbone.layer_groups[2] == (1, 4) * 3
    assert backbone.layer_groups[3] == (1, 4) * 8
    assert backbone.layer_groups[4] == (1, )
    assert RepVGG('A0').layer_groups[3] == (1, ) * 14


def test_registered_in_mmseg_and_output_stride_8_shapes():
    backbone = MODELS.build(
        dict(type='RepVGG', arch='A0', strides=(2, 2, 2, 1, 1),
             dilations=(1, 1, 1, 2, 4), out_indices=(0, 1, 2, 3, 4)))
    outs = backbone(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 48, 32, 32), (1, 48, 16, 16),
                                             (1, 96, 8, 8), (1, 192, 8, 8),
                                             (1, 1280, 8, 8)]
    assert backbone.out_channels == (48, 48, 96, 192, 1280)


def test_dilated_convs_pad_dilation_and_1x1_pads_zero():
    backbone = RepVGG('B1g2', strides=(2, 2, 2, 1, 1),
                      dilations=(1, 1, 1, (1, ) * 12 + (2, ) * 4, 4))
    stage3 = list(backbone.stage3)
    assert [b.branch_3x3.conv.dilation[0] for b in stage3] == [1] * 12 + [2] * 4
    assert [b.branch_3x3.conv.padding[0] for b in stage3] == [1] * 12 + [2] * 4
    assert all(b.branch_1x1.conv.padding == (0, 0) for b in backbone.blocks())
    assert backbone.stage4[0].branch_3x3.conv.dilation == (4, 4)


def test_identity_branch_only_where_shapes_allow():
    assert RepVGGBlock(8, 8, stride=1).branch_identity is not None
    assert RepVGGBlock(8, 8, stride=2).branch_identity is None
    assert RepVGGBlock(8, 16, stride=1).branch_identity is None


@pytest.mark.parametrize('kwargs', [
    dict(arch='A0'),
    dict(arch='B1g2'),
    dict(arch='B2g4', strides=(2, 2, 2, 1, 1), dilations=(1, 1, 1, 2, 4)),
    dict(arch='B1g2', strides=(2, 2, 2, 1, 1),
         dilations=(1, 1, 1, (1, ) * 12 + (2, ) * 4, 4)),
    dict(arch=dict(num_blocks=(1, 3, 2, 3, 1), widths=(8, 16, 16, 32, 32),
                   groups=(1, (1, 2, 4), 2, (1, 4, 1), 1)),
         strides=(2, (1, 2, 1), 1, 2, 1), dilations=(1, (1, 2, 3), 2, 1, 3)),
])
def test_switch_to_deploy_is_exact(kwargs):
    torch.manual_seed(0)
    model = randomize_bn(RepVGG(out_indices=(1, 2, 3, 4), **kwargs)).eval()
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        expected = model(x)
        model.switch_to_deploy()
        got = model(x)
    assert model.deploy
    assert not any(isinstance(m, _BatchNorm) for m in model.modules())
    for e, g in zip(expected, got):
        assert rel_err(g, e) < 1e-5


def test_deploy_built_directly_has_one_conv_per_layer():
    model = RepVGG('A0', deploy=True)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 22 and all(c.bias is not None for c in convs)
    assert all(c.kernel_size == (3, 3) for c in convs)
    assert model.deploy


def test_switch_to_deploy_twice_is_a_noop_and_keeps_requires_grad():
    model = randomize_bn(RepVGG(TINY, frozen_stages=1)).eval()
    model.switch_to_deploy()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    model.switch_to_deploy()
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())
    assert not model.stage1[0].branch_reparam.weight.requires_grad
    assert model.stage2[0].branch_reparam.weight.requires_grad


def test_frozen_stages_and_norm_eval():
    model = RepVGG(TINY, frozen_stages=1, norm_eval=True)
    model.train()
    frozen = [p.requires_grad for p in model.stage0.parameters()] + [
        p.requires_grad for p in model.stage1.parameters()]
    assert not any(frozen)
    assert all(p.requires_grad for p in model.stage2.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    before = model.stage3[0].branch_3x3.bn.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert torch.equal(model.stage3[0].branch_3x3.bn.running_mean, before)


def test_frozen_stages_stay_in_eval_without_norm_eval():
    model = RepVGG(TINY, frozen_stages=0).train()
    assert not model.stage0.training and model.stage1.training
    bn = model.stage1[0].branch_3x3.bn
    before = bn.running_mean.clone()
    model(torch.randn(2, 3, 32, 32))
    assert not torch.equal(bn.running_mean, before)


def test_with_cp_gives_same_outputs_and_gradients():
    torch.manual_seed(0)
    plain = RepVGG(TINY)
    ckpt = RepVGG(TINY, with_cp=True)
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32)
    calls = {}
    for model in (plain, ckpt):
        model.train()
        calls[model] = 0
        model.stage2[0].branch_3x3.register_forward_hook(
            lambda *_, model=model: calls.__setitem__(model, calls[model] + 1))
        model(x.clone().requires_grad_())[0].sum().backward()
    # Checkpointing recomputes the branches during backward.
    assert (calls[plain], calls[ckpt]) == (1, 2)
    for (name, p), q in zip(plain.named_parameters(), ckpt.parameters()):
        torch.testing.assert_close(q.grad, p.grad, rtol=1e-5, atol=1e-6, msg=name)


def test_syncbn_trains_single_process_and_fuses_exactly():
    model = RepVGG(TINY, norm_cfg=dict(type='SyncBN', requires_grad=True))
    assert isinstance(model.stage1[1].branch_identity, nn.SyncBatchNorm)
    model = revert_sync_batchnorm(model)
    model.train()
    model(torch.randn(4, 3, 32, 32))[0].mean().backward()
    model.eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)[0]
        model.switch_to_deploy()
        assert rel_err(model(x)[0], expected) < 1e-5


def test_native_syncbn_fuses_exactly():
    """Fusion reads SyncBatchNorm itself (as in a DDP job), unconverted."""
    torch.manual_seed(0)
    model = RepVGG(TINY, norm_cfg=dict(type='SyncBN', requires_grad=True)).eval()
    assert isinstance(model.stage1[1].branch_identity, nn.SyncBatchNorm)
    randomize_bn(model)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)[0]
        model.switch_to_deploy()
        assert not any(isinstance(m, _BatchNorm) for m in model.modules())
        assert rel_err(model(x)[0], expected) < 1e-5


@pytest.mark.parametrize('kwargs, error, words', [
    (dict(arch='C9'), KeyError, ['Unknown RepVGG arch', 'B1g2']),
    (dict(arch='A0', dilations=(1, 1, 1, (1, 2), 4)), ValueError,
     ['dilations[3]', '14 layers']),
    (dict(arch='A0', dilations=(1, 1, 2, 4)), ValueError, ['5 entries']),
    (dict(arch='A0', strides=(2, 2, 2, 2, (1, 2))), ValueError, ['strides[4]']),
    (dict(arch='A0', out_indices=(5, )), ValueError, ['out_indices']),
    (dict(arch='A0', frozen_stages=5), ValueError, ['frozen_stages']),
    (dict(arch=dict(num_blocks=(1, 1, 1, 1, 1))), KeyError, ['widths']),
    (dict(arch=dict(num_blocks=(1, 1, 1, 1), widths=(8, ) * 4)), ValueError,
     ['5 entries']),
    (dict(arch=TINY, norm_cfg=dict(type='GN', num_groups=2)), TypeError,
     ['BatchNorm']),
    (dict(arch=dict(num_blocks=(1, 1, 1, 1, 1), widths=(8, 8, 12, 16, 16),
                    groups=(1, 1, 8, 1, 1))), ValueError, ['groups=8']),
])
def test_bad_arguments_raise_helpful_errors(kwargs, error, words):
    with pytest.raises(error) as info:
        RepVGG(**kwargs)
    for word in words:
        assert word in str(info.value)
