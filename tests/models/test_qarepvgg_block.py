"""The quantization-friendly block: its structure, exact fusion, and everything
the RepVGG block supports (strides, dilations, groups, frozen stages, with_cp,
our checkpoints, whole-model deploy)."""
import copy

import pytest
import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from conftest import DEMO_CONFIG
from numerics import randomize_bn, rel_err
from repvgg_seg.apis import SegmentorForward, build_segmentor, load_config
from repvgg_seg.deploy import (fuse_repvgg_state_dict, remaining_batchnorms,
                               switch_to_deploy)
from repvgg_seg.models import QARepVGGBlock, RepVGG

TINY = dict(num_blocks=(1, 2, 2, 3, 1), widths=(8, 8, 16, 16, 32), groups=2)


def randomize(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random BN statistics and 1x1 kernels of 3x3-like scale, so a wrong
    fusion of either cannot pass."""
    randomize_bn(model, seed)
    gen = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, QARepVGGBlock) and not m.deploy:
            w = m.branch_1x1.conv.weight
            w.data.copy_(torch.randn(w.shape, generator=gen) * 0.3)
    return model


def test_branches_are_the_qarepvgg_form():
    block = QARepVGGBlock(8, 8, groups=2)
    keys = set(block.state_dict())
    assert 'branch_3x3.bn.running_var' in keys and 'post_bn.running_var' in keys
    assert 'branch_1x1.conv.weight' in keys
    # The 1x1 is a plain conv: no BN, no bias; the identity has no tensors.
    assert not any(k.startswith(('branch_1x1.bn', 'branch_identity')) for k in keys)
    assert 'branch_1x1.conv.bias' not in keys
    assert isinstance(block.branch_identity, nn.Identity)
    assert block.branch_1x1.conv.groups == 2
    assert QARepVGGBlock(8, 16).branch_identity is None
    assert QARepVGGBlock(8, 8, stride=2).branch_identity is None
    # Post-sum BN normalises the sum: x = 0 branches give BN(x) then ReLU.
    x = torch.randn(2, 8, 6, 6)
    block.eval()
    with torch.no_grad():
        block.branch_3x3.conv.weight.zero_()
        block.branch_1x1.conv.weight.zero_()
        block.branch_3x3.norm.bias.zero_()
        expected = torch.relu(block.post_bn(block.branch_3x3.norm(
            torch.zeros_like(x)) + x))
        assert torch.equal(block(x), expected)


@pytest.mark.parametrize('kwargs', [
    dict(),
    dict(strides=(2, 2, 2, 1, 1), dilations=(1, 1, 1, 2, 4)),
    dict(strides=(2, 2, 1, (1, 2, 1), 1), dilations=(1, 1, 2, (1, 1, 3), 1)),
])
def test_switch_to_deploy_is_exact(kwargs):
    torch.manual_seed(0)
    model = randomize(RepVGG(TINY, block='qarepvgg', out_indices=(2, 3, 4),
                             **kwargs)).eval()
    x = torch.randn(2, 3, 48, 64)
    with torch.no_grad():
        reference = model(x)
        deployed = copy.deepcopy(model)
        deployed.switch_to_deploy()
        outputs = deployed(x)
    assert deployed.deploy and not remaining_batchnorms(deployed)
    for out, ref in zip(outputs, reference):
        assert rel_err(out, ref) <= 1e-5
    # One 3x3 conv with bias per layer, as RepVGG's deploy form.
    convs = [m for m in deployed.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == sum(TINY['num_blocks'])
    assert all(c.kernel_size == (3, 3) and c.bias is not None for c in convs)


def test_state_dict_fusion_needs_and_uses_the_identity_map():
    model = randomize(RepVGG(TINY, block='qarepvgg'), seed=1).eval()
    state = model.state_dict()
    with pytest.raises(ValueError, match='identity branch has no tensors'):
        fuse_repvgg_state_dict(state)
    identity = {f'{n}.': b.has_identity for n, b in model.named_modules()
                if isinstance(b, QARepVGGBlock)}
    fused = fuse_repvgg_state_dict(state, has_identity=identity)
    deployed = RepVGG(TINY, block='qarepvgg', deploy=True).eval()
    deployed.load_state_dict(fused)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        assert rel_err(deployed(x)[0], model(x)[0]) <= 1e-5


def test_own_checkpoint_loads_into_training_and_deploy_backbones(tmp_path):
    model = randomize(RepVGG(TINY, block='qarepvgg'), seed=2).eval()
    path = tmp_path / 'qa.pth'
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in model.state_dict().items()}}, path)
    x = torch.randn(1, 3, 32, 32)
    with torch.no_grad():
        expected = model(x)[0]
    for deploy in (False, True):
        loaded = RepVGG(TINY, block='qarepvgg', deploy=deploy,
                        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
        loaded.init_weights()
        with torch.no_grad():
            assert rel_err(loaded.eval()(x)[0], expected) <= 1e-5
    # A RepVGG-block checkpoint does not fit a QARepVGG backbone: named keys.
    other = RepVGG(TINY)
    torch.save({'state_dict': other.state_dict()}, tmp_path / 'rep.pth')
    wrong = RepVGG(TINY, block='qarepvgg',
                   init_cfg=dict(type='Pretrained', checkpoint=str(tmp_path / 'rep.pth')))
    with pytest.raises(ValueError, match='post_bn'):
        wrong.init_weights()


def test_frozen_stages_with_cp_and_training():
    model = RepVGG(TINY, block='qarepvgg', frozen_stages=1, with_cp=True)
    model.train()
    frozen = [model.stage0, model.stage1]
    assert all(not p.requires_grad for s in frozen for p in s.parameters())
    assert all(not m.training for s in frozen for m in s.modules()
               if isinstance(m, _BatchNorm))
    reference = RepVGG(TINY, block='qarepvgg', frozen_stages=1)
    reference.load_state_dict(model.state_dict())
    reference.train()
    x = torch.randn(2, 3, 32, 32, requires_grad=True)
    out, ref = model(x)[0], reference(x)[0]
    assert rel_err(out, ref) < 1e-6
    out.sum().backward()
    ref_grad = torch.autograd.grad(ref.sum(), x)[0]
    assert rel_err(x.grad, ref_grad) < 1e-5


def test_whole_segmentor_deploys_exactly():
    cfg = load_config(DEMO_CONFIG, {'model.backbone.block': 'qarepvgg'})
    torch.manual_seed(3)
    model = randomize(build_segmentor(cfg), seed=3)
    x = torch.randn(1, 3, 64, 96)
    with torch.no_grad():
        reference = SegmentorForward(model)(x)
        deployed = switch_to_deploy(copy.deepcopy(model))
        out = SegmentorForward(deployed)(x)
    assert not remaining_batchnorms(deployed)
    assert rel_err(out, reference) <= 1e-5


def test_unknown_block_is_a_clear_error():
    with pytest.raises(ValueError, match="block must be one of repvgg, qarepvgg"):
        RepVGG(TINY, block='qa')
