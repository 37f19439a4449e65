"""RepVGGDeployHook: validation sees the deployed model, training is untouched."""
import copy
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import repvgg_seg  # noqa: F401
from conftest import DEMO_CONFIG
from repvgg_seg.models import RepVGG


def demo_cfg(root, work_dir, block='repvgg', **hook):
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.model.backbone.block = block
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].dataset.data_root = str(root)
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    cfg.train_dataloader.batch_size = 2
    cfg.train_cfg.max_iters = 3
    cfg.train_cfg.val_interval = 1000  # validation is run by hand below
    cfg.default_hooks.checkpoint.interval = 1000
    cfg.custom_hooks = [dict(type='RepVGGDeployHook', **hook)]
    cfg.work_dir = str(work_dir)
    return cfg


def snapshot(runner):
    return (copy.deepcopy(runner.model.state_dict()),
            copy.deepcopy(runner.optim_wrapper.state_dict()))


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], torch.Tensor):
            assert torch.equal(a[key], b[key]), key
        elif isinstance(a[key], dict):
            assert_same(a[key], b[key])
        else:
            assert a[key] == b[key], key


def log_text(runner) -> str:
    return (Path(runner.log_dir) / f'{runner.timestamp}.log').read_text()


@pytest.mark.parametrize('block', ['repvgg', 'qarepvgg'])
def test_validation_uses_a_deployed_copy_and_leaves_training_intact(
        toy_cityscapes, tmp_path, block):
    runner = Runner.from_cfg(demo_cfg(toy_cityscapes, tmp_path / 'a', block))
    runner.train()
    model = runner.model
    before = snapshot(runner)

    metrics = runner.val_loop.run()

    assert runner.model is model and model.training
    assert isinstance(model.backbone, RepVGG) and not model.backbone.deploy
    after = snapshot(runner)
    assert_same(before[0], after[0])
    assert_same(before[1], after[1])
    assert 'RepVGGDeployHook: validating a deployed copy' in log_text(runner)
    assert 'no BatchNorm left' in log_text(runner)

    # The same weights validated in training form give the same metrics.
    plain = Runner.from_cfg(
        demo_cfg(toy_cityscapes, tmp_path / 'b', block, deploy_on_val=False))
    plain.model.load_state_dict(before[0])
    assert plain.val_loop.run() == pytest.approx(metrics, abs=0.02)
    assert 'RepVGGDeployHook: validating' not in log_text(plain)


def test_before_test_deploys_in_place(toy_cityscapes, tmp_path):
    runner = Runner.from_cfg(demo_cfg(toy_cityscapes, tmp_path))
    runner.test()
    assert runner.model.backbone.deploy
    assert not any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm)
                   for m in runner.model.modules())


def test_training_after_validations_is_what_it_would_be_without_them(
        toy_cityscapes, tmp_path):
    """Validating deployed copies mid-training changes nothing in training:
    same final weights, BN statistics and optimizer state as a run whose
    validations used the training model itself."""
    runs = {}
    for name, hook in (('deployed', {}), ('plain', dict(deploy_on_val=False))):
        cfg = demo_cfg(toy_cityscapes, tmp_path / name, **hook)
        cfg.train_cfg.max_iters, cfg.train_cfg.val_interval = 4, 2
        runner = Runner.from_cfg(cfg)
        runner.train()
        runs[name] = runner
        assert log_text(runner).count('RepVGGDeployHook: validating') == (
            2 if name == 'deployed' else 0)
    assert not runs['deployed'].model.backbone.deploy
    for a, b in zip(snapshot(runs['deployed']), snapshot(runs['plain'])):
        assert_same(a, b)


def test_a_deploy_form_checkpoint_is_a_clear_error(toy_cityscapes, tmp_path):
    from repvgg_seg.checkpoint import DeployCheckpointError
    from repvgg_seg.deploy import switch_to_deploy
    cfg = demo_cfg(toy_cityscapes, tmp_path)
    fused = switch_to_deploy(Runner.from_cfg(copy.deepcopy(cfg)).model)
    torch.save({'state_dict': fused.state_dict()}, tmp_path / 'fused.pth')
    cfg.load_from = str(tmp_path / 'fused.pth')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(DeployCheckpointError, match='deploy-form.*--deploy'):
        runner.test()
    assert not runner.model.backbone.deploy  # nothing was loaded or converted
