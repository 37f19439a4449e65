"""What tools/train.py and tools/test.py decide before a run, in process."""
from pathlib import Path

import pytest
from mmengine.config import Config

from conftest import DEMO_CONFIG, REPO
from repvgg_seg.datasets.checks import DatasetFilesError
from repvgg_seg.engine import setup_test_cfg, setup_train_cfg
from repvgg_seg.engine.distributed import _replace_syncbn

TOY_CLS = REPO / 'configs' / 'imagenet' / 'repvgg-toy_imagefolder.py'


def test_imagenet_configs_get_their_folders_checked(tmp_path):
    cfg = Config.fromfile(str(REPO / 'configs' / 'imagenet' /
                              'repvgg-a0_8xb32_120e_imagenet.py'))
    cfg.train_dataloader.dataset.data_root = str(tmp_path / 'imagenet')
    with pytest.raises(DatasetFilesError, match='imagenet does not exist'):
        setup_train_cfg(cfg, 'a0.py')


def test_out_needs_a_segmentation_evaluator():
    cfg = Config.fromfile(str(TOY_CLS))
    with pytest.raises(ValueError, match='--out .* IoUMetric'):
        setup_test_cfg(cfg, 'toy.py', str(REPO / 'README.md'), out='preds')


def test_deploy_flag_controls_the_hook_and_tta_wraps_the_model(toy_cityscapes,
                                                               random_demo_checkpoint):
    def cfg():
        c = Config.fromfile(str(DEMO_CONFIG))
        c.test_dataloader.dataset.data_root = str(toy_cityscapes)
        return c

    readme = str(random_demo_checkpoint)
    plain = setup_test_cfg(cfg(), 'demo.py', readme)
    assert plain.custom_hooks == [dict(type='RepVGGDeployHook', deploy_on_test=False)]
    deployed = setup_test_cfg(cfg(), 'demo.py', readme, deploy=True, tta=True)
    assert deployed.custom_hooks == [dict(type='RepVGGDeployHook',
                                          deploy_on_test=True)]
    assert deployed.model.type == 'SegTTAModel'
    assert deployed.model.module.backbone.type == 'RepVGG'
    assert deployed.test_dataloader.dataset.pipeline[1].type == 'TestTimeAug'
    assert Path(deployed.work_dir).name == 'demo'


def test_deploy_adds_the_hook_to_configs_without_it(toy_cityscapes):
    cfg = Config.fromfile(str(REPO / 'configs' / 'pspnet_r50.py'))
    cfg.test_dataloader.dataset.data_root = str(toy_cityscapes)
    # Any existing file stands in for a checkpoint when the fit check is off.
    setup_test_cfg(cfg, 'r50.py', str(REPO / 'README.md'), deploy=True,
                   metric='both', strict=False)
    assert cfg.custom_hooks == [dict(type='RepVGGDeployHook', deploy_on_val=False,
                                     deploy_on_test=True)]
    assert [e.type for e in cfg.test_evaluator] == ['IoUMetric', 'CityscapesMetric']


def test_syncbn_becomes_bn_everywhere_in_a_model_config():
    cfg = Config.fromfile(str(REPO / 'configs' / 'pspnet_repvgg_b2.py'))
    assert 'SyncBN' in str(cfg.model)
    assert _replace_syncbn(cfg.model) == 3  # backbone, decode head, aux head
    assert 'SyncBN' not in str(cfg.model)


def test_tensorboard_without_the_package_is_a_clear_error(toy_cityscapes):
    import importlib.util
    if importlib.util.find_spec('tensorboard') is not None:
        pytest.skip('tensorboard is installed here: nothing is missing')
    cfg = Config.fromfile(str(DEMO_CONFIG))
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend'),
                                   dict(type='TensorboardVisBackend')]
    with pytest.raises(ValueError, match=r'pip install -e "\.\[tensorboard\]"'):
        setup_train_cfg(cfg, 'demo.py')
