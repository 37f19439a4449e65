"""Parameter-wise weight decay of the ImageNet schedules: kernels only."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmseg.registry import MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

import repvgg_seg  # noqa: F401  (registrations)

REPO = Path(__file__).resolve().parents[2]
SCHEDULES = ['imagenet_bs256_120e.py', 'imagenet_bs256_200e_warmup.py']
# Stages with several layers, so blocks have identity-branch BNs.
ARCH = dict(num_blocks=(1, 2, 2, 2, 1), widths=(8, 16, 16, 32, 32), groups=2)


def classifier(deploy: bool = False) -> nn.Module:
    return MODELS.build(dict(
        type='ImageClassifier',
        backbone=dict(type='RepVGG', arch=ARCH, deploy=deploy),
        head=dict(type='LinearClsHead', num_classes=3)))


def optim_cfg(schedule: str):
    cfg = Config.fromfile(str(REPO / 'configs/_base_/schedules' / schedule))
    return cfg.optim_wrapper


def decay_by_name(model, wrapper):
    group_of = {id(p): g for g in wrapper.optimizer.param_groups
                for p in g['params']}
    return {name: group_of[id(p)]['weight_decay']
            for name, p in model.named_parameters()}


def expected_decay(model, base: float):
    expected = {}
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            is_kernel = (isinstance(module, (nn.Conv2d, nn.Linear))
                         and name == 'weight')
            expected[f'{module_name}.{name}'] = base if is_kernel else 0.0
    return expected


@pytest.mark.parametrize('schedule', SCHEDULES)
@pytest.mark.parametrize('deploy', [False, True])
def test_only_conv_and_fc_kernels_decay(schedule, deploy):
    model = classifier(deploy)
    wrapper = build_optim_wrapper(model, optim_cfg(schedule))
    base = wrapper.optimizer.defaults['weight_decay']
    assert base == 1e-4
    decays = decay_by_name(model, wrapper)
    assert decays == expected_decay(model, base)

    names = list(decays)
    if deploy:
        # The fused conv's bias gets no decay, its kernel does.
        assert decays['backbone.stage1.1.branch_reparam.bias'] == 0.0
        assert decays['backbone.stage1.1.branch_reparam.weight'] == base
    else:
        identity = [n for n in names if '.branch_identity.' in n]
        bn = [n for n in names if '.bn.' in n]
        assert identity and bn
        assert all(decays[n] == 0.0 for n in identity + bn)
        assert decays['backbone.stage1.1.branch_3x3.conv.weight'] == base
        assert decays['backbone.stage1.1.branch_1x1.conv.weight'] == base
    assert decays['head.fc.weight'] == base
    assert decays['head.fc.bias'] == 0.0
    # Every trainable parameter is in the optimizer exactly once.
    assert sum(len(g['params'])
               for g in wrapper.optimizer.param_groups) == len(names)


def test_a_zero_gradient_step_shrinks_only_kernels():
    model = classifier()
    wrapper = build_optim_wrapper(model, optim_cfg(SCHEDULES[0]))
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    wrapper.step()
    for module_name, module in model.named_modules():
        for name, p in module.named_parameters(recurse=False):
            full = f'{module_name}.{name}'
            if isinstance(module, (nn.Conv2d, nn.Linear)) and name == 'weight':
                # SGD: w -= lr * wd * w on the first step (empty momentum).
                torch.testing.assert_close(p, before[full] * (1 - 0.1 * 1e-4))
            else:
                assert torch.equal(p, before[full]), full
                assert isinstance(module, (_BatchNorm, nn.Conv2d, nn.Linear))
