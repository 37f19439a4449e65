"""Every ImageNet config loads, builds and carries the paper's recipe."""
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from mmengine.config import Config
from mmseg.registry import MODELS

import repvgg_seg  # noqa: F401  (registrations)
from repvgg_seg.models.backbones.repvgg import ARCH_SETTINGS

REPO = Path(__file__).resolve().parents[2]
CONFIG_DIR = REPO / 'configs' / 'imagenet'
ARCHS = ('A0', 'A1', 'A2', 'B0', 'B1', 'B1g2', 'B1g4', 'B2', 'B2g2', 'B2g4',
         'B3', 'B3g2', 'B3g4')
HEAVY = ('B2g4', 'B3g4', 'B3')


def built_scheduler(scheduler_cfg, end):
    """The scheduler MMEngine's runner builds from a config without ``end``
    (one iteration per epoch, so epoch and step counts coincide)."""
    from mmengine.optim.scheduler import CosineAnnealingLR
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    kwargs = {k: v for k, v in scheduler_cfg.items()
              if k not in ('type', 'convert_to_iter_based')}
    return CosineAnnealingLR(optimizer, end=end, **kwargs)


def simple_name(arch: str) -> str:
    return f'repvgg-{arch.lower()}_8xb32_120e_imagenet.py'


def heavy_name(arch: str) -> str:
    return f'repvgg-{arch.lower()}_8xb32_200e-heavy_imagenet.py'


CONFIGS = ([(simple_name(a), a, False) for a in ARCHS] +
           [(heavy_name(a), a, True) for a in HEAVY])


def load(name: str) -> Config:
    return Config.fromfile(str(CONFIG_DIR / name))


def test_there_is_a_config_for_every_arch_and_recipe_and_no_other():
    expected = {name for name, _, _ in CONFIGS} | {
        'repvgg-toy_imagefolder.py', 'qarepvgg-b1g2_8xb32_120e_imagenet.py'}
    assert {p.name for p in CONFIG_DIR.glob('*.py')} == expected
    assert set(ARCHS) == set(ARCH_SETTINGS)


@pytest.mark.parametrize('name, arch, heavy', CONFIGS,
                         ids=[c[0] for c in CONFIGS])
def test_config_builds_and_has_the_recipe(name, arch, heavy):
    cfg = load(name)
    assert cfg.default_scope == 'mmseg'
    assert 'repvgg_seg' in cfg.custom_imports.imports

    model = MODELS.build(cfg.model)
    assert type(model).__name__ == 'ImageClassifier'
    assert model.backbone.arch == ARCH_SETTINGS[arch]
    assert model.head.fc.in_features == ARCH_SETTINGS[arch]['widths'][4]
    assert model.head.fc.out_features == 1000
    preprocessor = model.data_preprocessor
    assert preprocessor.to_rgb
    torch.testing.assert_close(preprocessor.mean.flatten(),
                               torch.tensor([123.675, 116.28, 103.53]))

    # Optimiser: SGD, lr 0.1 for batch 256, momentum 0.9, wd 1e-4 on kernels.
    assert cfg.optim_wrapper.optimizer == dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4)
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.0,
                                                   bias_decay_mult=0.0)
    assert cfg.train_dataloader.batch_size == 32  # x 8 GPUs = 256
    assert cfg.auto_scale_lr == dict(enable=True, base_batch_size=256)

    epochs = 200 if heavy else 120
    assert cfg.train_cfg.by_epoch and cfg.train_cfg.max_epochs == epochs
    *warmup, cosine = cfg.param_scheduler
    # The cosine runs to the end of the train loop: MMEngine fills `end` from
    # max_epochs, and T_max follows as end - begin (built here as it does).
    assert 'end' not in cosine and 'T_max' not in cosine
    built = built_scheduler(cosine, end=cfg.train_cfg.max_epochs)
    assert cosine.type == 'CosineAnnealingLR'
    assert cosine.eta_min == 0 and cosine.convert_to_iter_based
    if heavy:
        (linear, ) = warmup
        assert (linear.type, linear.begin, linear.end) == ('LinearLR', 0, 5)
        assert linear.convert_to_iter_based
        assert (built.begin, built.T_max) == (5, 195)
    else:
        assert warmup == []
        assert (built.begin, built.T_max) == (0, 120)

    # Augmentation and targets.
    train_types = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    expected_train = ['LoadImageFromFile', 'RandomResizedCrop', 'RandomFlip']
    expected_train += ['AutoAugment'] if heavy else []
    assert train_types == expected_train + ['PackClsInputs']
    crop = cfg.train_dataloader.dataset.pipeline[1]
    assert crop.scale == 224
    smoothing = model.head.loss_module.label_smoothing
    assert smoothing == (0.1 if heavy else 0.0)
    if heavy:
        assert preprocessor.mixup.alpha == 0.2
        assert preprocessor.mixup.num_classes == 1000
        assert preprocessor.mixup.label_smoothing == 0.0
        auto = cfg.train_dataloader.dataset.pipeline[3]
        assert auto.policies == 'imagenet'
    else:
        assert preprocessor.mixup is None

    # Evaluation: short edge 256, centre crop 224, top-1/top-5.
    test = cfg.test_dataloader.dataset.pipeline
    assert [t.type for t in test] == ['LoadImageFromFile', 'ResizeEdge',
                                      'CenterCrop', 'PackClsInputs']
    assert (test[1].scale, test[1].edge) == (256, 'short')
    assert test[2].crop_size == 224
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = cfg[loader].dataset
        assert dataset.type == 'ImageNetDataset'
        assert dataset.data_root == 'data/imagenet/'
    assert cfg.train_dataloader.dataset.data_prefix == 'train'
    assert cfg.val_dataloader.dataset.data_prefix == 'val'
    assert cfg.val_evaluator == dict(type='Accuracy', topk=(1, 5))
    assert cfg.default_hooks.checkpoint.save_best == 'accuracy/top1'


@pytest.mark.parametrize('world_size, batch_size', [(2, 64), (1, 32)])
def test_lr_follows_the_actual_batch_by_the_linear_rule(world_size, batch_size):
    """What the runner makes of the ImageNet lr on other set-ups."""
    from mmengine.optim import build_optim_wrapper
    from mmengine.runner import Runner

    cfg = load(simple_name('A0'))
    cfg.train_dataloader.batch_size = batch_size
    wrapper = build_optim_wrapper(torch.nn.Linear(2, 2), cfg.optim_wrapper)
    # The attributes Runner.scale_lr reads from the runner.
    runner = SimpleNamespace(_train_dataloader=cfg.train_dataloader,
                             world_size=world_size, param_schedulers=None,
                             logger=SimpleNamespace(info=lambda msg: None))
    Runner.scale_lr(runner, wrapper, cfg.auto_scale_lr)
    lrs = {g['lr'] for g in wrapper.optimizer.param_groups}
    assert len(lrs) == 1
    assert math.isclose(lrs.pop(), 0.1 * world_size * batch_size / 256)


def test_qarepvgg_classifier_is_the_b1g2_recipe_with_the_qa_block():
    cfg = Config.fromfile(str(CONFIG_DIR / 'qarepvgg-b1g2_8xb32_120e_imagenet.py'))
    plain = Config.fromfile(str(CONFIG_DIR / 'repvgg-b1g2_8xb32_120e_imagenet.py'))
    assert cfg.model.backbone.pop('block') == 'qarepvgg'
    assert cfg.model == plain.model and cfg.param_scheduler == plain.param_scheduler
    model = MODELS.build(Config.fromfile(
        str(CONFIG_DIR / 'qarepvgg-b1g2_8xb32_120e_imagenet.py')).model)
    assert type(model.backbone.stage1[0]).__name__ == 'QARepVGGBlock'
