"""Shared fixtures: a small real-file toy Cityscapes set, made once per session."""
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEMO_CONFIG = REPO / 'configs' / 'demo' / 'pspnet_repvgg_toy_cityscapes.py'


if os.environ.get('PYTEST_XDIST_WORKER'):
    # pytest-xdist runs one worker per core: one thread each, or the workers'
    # thread pools fight over the cores (several times slower, not faster).
    import torch
    torch.set_num_threads(1)


@pytest.fixture(scope='session', autouse=True)
def private_cache(tmp_path_factory):
    """Caches the suite writes (the data check's) go to a temporary folder,
    for the tools it runs as subprocesses too."""
    os.environ['XDG_CACHE_HOME'] = str(tmp_path_factory.mktemp('cache'))


@pytest.fixture(autouse=True)
def mmseg_scope():
    """Registry lookups in the mmseg scope, whatever an earlier test's runner
    (e.g. one with default_scope='mmengine') left as the current scope."""
    from mmengine.registry import init_default_scope
    init_default_scope('mmseg')


@pytest.fixture(scope='session')
def toy_cityscapes(tmp_path_factory) -> Path:
    """8 train / 4 val synthetic images in the Cityscapes layout, converted with
    cityscapesscripts (trainIds plus the official-evaluation maps)."""
    from repvgg_seg.datasets.cityscapes_prep import convert_polygons_to_train_ids
    from repvgg_seg.toydata.cityscapes_layout import generate_toy_cityscapes
    root = tmp_path_factory.mktemp('toy') / 'cityscapes'
    generate_toy_cityscapes(str(root), num_train=8, num_val=4)
    convert_polygons_to_train_ids(str(root), nproc=1, show_progress=False,
                                  with_eval_maps=True)
    return root


@pytest.fixture(scope='session')
def tool_env():
    """Environment for running tools/*.py as subprocesses from the repo root."""
    env = dict(os.environ, PYTHONUNBUFFERED='1', OMP_NUM_THREADS='1')
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (str(REPO), env.get('PYTHONPATH', '')) if p)
    return env


@pytest.fixture(scope='session')
def random_demo_checkpoint(tmp_path_factory) -> Path:
    """The demo segmentor with random weights and random BN statistics, saved
    as a training-form checkpoint (what tools write): cheap, and every path
    that should give the same labels must give them for these weights too."""
    import torch

    from numerics import randomize_bn
    from repvgg_seg.apis import build_segmentor, load_config
    torch.manual_seed(0)
    model = randomize_bn(build_segmentor(load_config(DEMO_CONFIG),
                                         keep_auxiliary_head=True))
    path = tmp_path_factory.mktemp('ckpt') / 'random_demo.pth'
    torch.save({'meta': {}, 'state_dict': model.state_dict()}, path)
    return path
