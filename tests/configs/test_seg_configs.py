"""The Table 8 configs build and carry the paper's recipe."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmseg.registry import MODELS
from torch import nn

import repvgg_seg  # noqa: F401

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / 'configs' / 'demo' / 'pspnet_repvgg_toy_cityscapes.py'

# config: (dilated 3x3 convs in the backbone, backbone type)
TABLE8 = {
    'pspnet_repvgg_b1g2': (17, 'RepVGG'),
    'pspnet_repvgg_b1g2_fast': (5, 'RepVGG'),
    'pspnet_repvgg_b2': (17, 'RepVGG'),
    'pspnet_repvgg_b2_fast': (5, 'RepVGG'),
    # ResNet-D8: the 3x3 convs of layer3 (2) and layer4 (4), except ResNetV1c's
    # contract_dilation halves the first conv of each dilated stage, which
    # still leaves it dilated for layer4 (dilation 2) but not for layer3 (1).
    'pspnet_r50': (6 + 3 - 1, 'ResNetV1c'),
    'pspnet_r101': (23 + 3 - 1, 'ResNetV1c'),
}


def load(name: str) -> Config:
    return Config.fromfile(str(REPO / 'configs' / f'{name}.py'))


def dilated_3x3(module: nn.Module) -> int:
    return sum(1 for m in module.modules() if isinstance(m, nn.Conv2d)
               and m.kernel_size == (3, 3) and m.dilation != (1, 1))


@pytest.mark.parametrize('name', list(TABLE8))
def test_table8_config_builds_with_output_stride_8(name):
    cfg = load(name)
    expected_dilated, backbone_type = TABLE8[name]
    assert cfg.model.backbone.type == backbone_type
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).eval()
    assert dilated_3x3(model.backbone) == expected_dilated
    with torch.no_grad():
        features = model.backbone(torch.randn(1, 3, 64, 64))
    assert features[-1].shape[-2:] == (8, 8)
    psp_in = features[cfg.model.decode_head.in_index]
    aux_in = features[cfg.model.auxiliary_head.in_index]
    assert psp_in.shape[1] == cfg.model.decode_head.in_channels
    assert aux_in.shape[1] == cfg.model.auxiliary_head.in_channels


@pytest.mark.parametrize('name', list(TABLE8))
def test_table8_config_has_the_paper_recipe(name):
    cfg = load(name)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=1e-4)
    (poly, ) = cfg.param_scheduler
    # The decay ends with the train loop (MMEngine fills `end` = max_iters).
    assert 'end' not in poly
    assert (poly.type, poly.power, poly.by_epoch) == ('PolyLR', 0.9, False)
    assert cfg.train_cfg.max_iters == 7440
    # 2 images per GPU x 8 GPUs = 16; 2975 images / 16 x 40 epochs ~ 7440.
    assert cfg.train_dataloader.batch_size == 2
    crop = next(t for t in cfg.train_pipeline if t.type == 'RandomCrop')
    assert tuple(crop.crop_size) == (713, 713)
    assert cfg.train_dataloader.dataset.type == 'CityscapesDataset'
    model = cfg.model
    assert model.backbone.norm_cfg.type == 'SyncBN'
    head, aux = model.decode_head, model.auxiliary_head
    assert (head.type, tuple(head.pool_scales), head.channels,
            head.num_classes) == ('PSPHead', (1, 2, 3, 6), 512, 19)
    assert head.norm_cfg.type == 'SyncBN' and head.dropout_ratio == 0.1
    assert (aux.type, aux.loss_decode.loss_weight) == ('FCNHead', 0.4)
    assert model.test_cfg.mode == 'slide'
    assert tuple(model.test_cfg.crop_size) == (713, 713)
    assert cfg.val_evaluator.type == 'IoUMetric'
    assert cfg.cityscapes_evaluator.type == 'CityscapesMetric'
    test_resize = next(t for t in cfg.test_pipeline if t.type == 'Resize')
    assert tuple(test_resize.scale) == (2048, 1024)  # full Cityscapes resolution


@pytest.mark.parametrize('name', [n for n, (_, t) in TABLE8.items() if t == 'RepVGG'])
def test_repvgg_configs_start_from_imagenet_and_validate_deployed(name):
    cfg = load(name)
    init = cfg.model.backbone.init_cfg
    assert init.type == 'Pretrained' and init.checkpoint.endswith('-train.pth')
    assert [h.type for h in cfg.custom_hooks] == ['RepVGGDeployHook']
    # Aux head on stage 3 (the paper's stage 4), PSP head on stage 4.
    assert tuple(cfg.model.backbone.out_indices) == (3, 4)
    assert cfg.model.auxiliary_head.in_index == 0
    assert cfg.model.decode_head.in_index == 1


def test_config_with_wrong_dilation_list_length_fails_clearly():
    cfg = load('pspnet_repvgg_b1g2_fast')
    cfg.model.backbone.dilations = (1, 1, 1, (1, ) * 10 + (2, ) * 4, 4)
    with pytest.raises(ValueError, match=r'dilations\[3\].*16 layers'):
        MODELS.build(cfg.model)


def test_config_with_unknown_arch_fails_clearly():
    cfg = load('pspnet_repvgg_b2')
    cfg.model.backbone.arch = 'B5'
    with pytest.raises(KeyError, match='Unknown RepVGG arch'):
        MODELS.build(cfg.model)


def test_a_shortened_run_decays_to_eta_min(toy_cityscapes, tmp_path):
    """--cfg-options train_cfg.max_iters=N ends the poly decay at N, because
    the configs leave the scheduler's end to the train loop."""
    from repvgg_seg.engine import setup_train_cfg
    from repvgg_seg.engine.cli import build_runner
    from repvgg_seg.apis import load_config
    cfg = load_config(DEMO, {
        'train_dataloader.dataset.data_root': str(toy_cityscapes),
        'val_dataloader.dataset.data_root': str(toy_cityscapes),
        'train_dataloader.batch_size': 2,
        'train_cfg.max_iters': 3, 'train_cfg.val_interval': 100,
        'default_hooks.checkpoint.interval': 100})
    runner = build_runner(setup_train_cfg(cfg, str(DEMO), str(tmp_path / 'w')))
    runner.train()
    (poly, ) = runner.param_schedulers
    assert poly.end == 3
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(1e-4, rel=1e-9)


def test_qarepvgg_table8_config_is_b1g2_fast_with_the_qa_block():
    qa, plain = load('pspnet_qarepvgg_b1g2_fast'), load('pspnet_repvgg_b1g2_fast')
    assert qa.model.backbone.pop('block') == 'qarepvgg'
    assert qa.model.backbone.init_cfg.checkpoint.endswith('QARepVGG-B1g2-imagenet.pth')
    qa.model.backbone.init_cfg = plain.model.backbone.init_cfg
    for key in ('model', 'train_dataloader', 'val_dataloader', 'optim_wrapper',
                'param_scheduler', 'train_cfg', 'custom_hooks'):
        assert qa[key] == plain[key], key
    with torch.device('meta'):  # structure only
        model = MODELS.build(load('pspnet_qarepvgg_b1g2_fast').model)
        reference = MODELS.build(plain.model)
    assert type(model.backbone.stage3[-1]).__name__ == 'QARepVGGBlock'
    assert model.backbone.layer_dilations == reference.backbone.layer_dilations
