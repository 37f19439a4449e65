"""The toy image-folder config trained for real with tools/train.py, tested
with tools/test.py --deploy, and its checkpoint used by a segmentation backbone.
"""
import re

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import load_checkpoint
from mmseg.registry import MODELS

from conftest import REPO
from tool_runs import run_tool
from repvgg_seg.checkpoint import load_checkpoint_file
from repvgg_seg.models import RepVGG
from repvgg_seg.toydata.imagefolder import generate_toy_imagefolder

TOY_CONFIG = REPO / 'configs' / 'imagenet' / 'repvgg-toy_imagefolder.py'
DEMO_FROM_CLS_CONFIG = (REPO / 'configs' / 'demo' /
                        'pspnet_repvgg_toy_cityscapes_from_toy_imagenet.py')
TOP1 = re.compile(r'Epoch\((?:val|test)\).*?accuracy/top1: ([\d.]+)')
CHANCE = 100 / 4


def data_options(root):
    options = ['--cfg-options']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options += [f'{loader}.dataset.data_root={root}',
                    f'{loader}.num_workers=0',
                    f'{loader}.persistent_workers=False']
    return options


@pytest.fixture(scope='module')
def toy_imagenet(tmp_path_factory):
    root = tmp_path_factory.mktemp('toy_imagenet')
    generate_toy_imagefolder(str(root))  # 4 classes, 256 train, 64 val, 64 px
    return root


@pytest.fixture(scope='module')
def trained(toy_imagenet, tmp_path_factory, tool_env):
    work_dir = tmp_path_factory.mktemp('cls_train')
    log = run_tool(['tools/train.py', str(TOY_CONFIG), '--work-dir',
                    str(work_dir), *data_options(toy_imagenet)], tool_env).stdout
    max_epochs = Config.fromfile(str(TOY_CONFIG)).train_cfg.max_epochs
    return work_dir / f'epoch_{max_epochs}.pth', log


def test_toy_training_is_clearly_above_chance(trained):
    ckpt, log = trained
    accuracies = [float(a) for a in TOP1.findall(log)]
    assert accuracies, log[-3000:]
    # Validation runs on the deployed copy (RepVGGDeployHook).
    assert 'RepVGGDeployHook: validating a deployed copy' in log
    assert accuracies[-1] >= CHANCE + 35, accuracies
    assert ckpt.is_file()


def test_deployed_test_reproduces_the_validation_accuracy(
        trained, toy_imagenet, tmp_path, tool_env):
    ckpt, train_log = trained
    log = run_tool(['tools/test.py', str(TOY_CONFIG), str(ckpt), '--deploy',
                    '--work-dir', str(tmp_path), *data_options(toy_imagenet)],
                   tool_env).stdout
    assert 'RepVGGDeployHook: testing: re-parameterized' in log
    assert 'no BatchNorm left' in log
    assert TOP1.findall(log) == TOP1.findall(train_log)[-1:]


def test_checkpoint_has_the_classifier_layout(trained):
    state = load_checkpoint_file(trained[0])['state_dict']
    assert {'head.fc.weight', 'head.fc.bias'} <= set(state)
    assert all(k.startswith(('backbone.stage', 'head.fc.')) for k in state)


def test_checkpoint_feeds_a_segmentation_backbone(trained):
    ckpt = str(trained[0])
    cfg = Config.fromfile(str(TOY_CONFIG))
    classifier = MODELS.build(cfg.model)
    load_checkpoint(classifier, ckpt, map_location='cpu', strict=True)
    classifier.eval()

    arch = cfg.model.backbone.arch.to_dict()
    seg_backbone = RepVGG(
        arch=arch, out_indices=(0, 1, 2, 3, 4),
        init_cfg=dict(type='Pretrained', checkpoint=ckpt, prefix='backbone.'))
    seg_backbone.init_weights()
    seg_backbone.eval()

    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        outs = seg_backbone(x)
        stage_in = x
        for name, out in zip(classifier.backbone.stage_names, outs):
            stage_in = getattr(classifier.backbone, name)(stage_in)
            assert torch.equal(out, stage_in), name


def test_checkpoint_initialises_the_toy_pspnet(trained):
    """The demo PSPNet (output stride 8) takes the toy classifier's weights
    through its config's init_cfg: the ImageNet -> Cityscapes path in
    miniature."""
    ckpt = str(trained[0])
    cfg = Config.fromfile(str(DEMO_FROM_CLS_CONFIG))
    assert cfg.model.backbone.init_cfg == dict(
        type='Pretrained', checkpoint=cfg.cls_checkpoint, prefix='backbone.')
    cfg.model.backbone.init_cfg.checkpoint = ckpt
    segmentor = MODELS.build(cfg.model)
    segmentor.init_weights()
    state = load_checkpoint_file(ckpt)['state_dict']
    own = segmentor.backbone.state_dict()
    backbone_keys = [k for k in state if k.startswith('backbone.')]
    assert len(backbone_keys) == len(own)
    for key in backbone_keys:
        assert torch.equal(own[key[len('backbone.'):]], state[key]), key

    # Stages 0-2 keep the classifier's strides: identical outputs there.
    classifier = MODELS.build(Config.fromfile(str(TOY_CONFIG)).model)
    load_checkpoint(classifier, ckpt, map_location='cpu', strict=True)
    classifier.eval()
    segmentor.backbone.eval()
    segmentor.backbone.out_indices = (0, 1, 2)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        stage_in = x
        for name, out in zip(classifier.backbone.stage_names[:3],
                             segmentor.backbone(x)):
            stage_in = getattr(classifier.backbone, name)(stage_in)
            assert torch.equal(out, stage_in), name


def test_heavy_recipe_trains_on_the_toy_set(toy_imagenet, tmp_path):
    """AutoAugment, mixup, label smoothing and the warm-up all run in one real
    (tiny) epoch of the B3 heavy config."""
    from mmengine.runner import Runner
    cfg = Config.fromfile(
        str(REPO / 'configs/imagenet/repvgg-b3_8xb32_200e-heavy_imagenet.py'))
    cfg.model.backbone.arch = dict(num_blocks=(1, 1, 1, 1, 1),
                                   widths=(8, 8, 16, 16, 32))
    cfg.model.head.num_classes = 4
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].update(batch_size=32, num_workers=0,
                           persistent_workers=False)
        cfg[loader].dataset.data_root = str(toy_imagenet)
    cfg.train_dataloader.dataset.pipeline[1].scale = 32
    cfg.val_dataloader.dataset.pipeline[1].scale = 36
    cfg.val_dataloader.dataset.pipeline[2].crop_size = 32
    cfg.val_evaluator = dict(type='Accuracy', topk=(1, ))
    cfg.train_cfg.max_epochs = 1
    # The cosine ends with the train loop; one epoch is inside the 5-epoch
    # warm-up, so give the cosine its 200-epoch end explicitly.
    cfg.param_scheduler[-1].end = 200
    cfg.work_dir = str(tmp_path)
    runner = Runner.from_cfg(cfg)

    seen = []
    preprocess = runner.model.data_preprocessor.forward

    def spy(data, training=False):
        out = preprocess(data, training)
        seen.append(all('gt_score' in s for s in out['data_samples']))
        return out

    runner.model.data_preprocessor.forward = spy
    threads = torch.get_num_threads()
    # Such tiny convs run several times slower on more threads.
    torch.set_num_threads(1)
    try:
        runner.train()
    finally:
        torch.set_num_threads(threads)
    iters = len(runner.train_dataloader)  # 256 images / 32 = 8
    assert seen[:iters] == [True] * iters  # mixup on every training batch
    assert not any(seen[iters:])  # and never in validation
    assert 'AutoAugment' in repr(runner.train_dataloader.dataset.pipeline)
    # Linear warm-up from 1e-3 x lr over 5 epochs, per iteration; mmengine
    # reaches the full lr on the last of the 5 x iters warm-up iterations.
    # The lr itself is the paper's 0.1 scaled to this batch: 0.1 x 32 / 256.
    done = iters / (5 * iters - 1)
    expected = 0.1 * 32 / 256 * (1e-3 + (1 - 1e-3) * done)
    assert runner.optim_wrapper.get_lr()['lr'][0] == pytest.approx(expected)
