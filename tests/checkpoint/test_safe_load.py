"""Checkpoints are untrusted: pickled code is refused on every path, while
mmengine's own checkpoints still save, load and resume on torch >= 2.6."""
import os

import pytest
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import CheckpointLoader, Runner, load_checkpoint
from torch import nn

import repvgg_seg  # noqa: F401  (registers the safe loader)
from repvgg_seg.checkpoint import (UnsafeCheckpointError, convert_checkpoint_file,
                                   load_checkpoint_file)
from repvgg_seg.models import RepVGG


class MakesDirectory:
    """Unpickling this calls os.mkdir(path): a visible stand-in for any code."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return os.mkdir, (self.path, )


class ReachesForInit:
    """Tries ``getattr(HistoryBuffer, '__init__')``, outside the allow-list."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.fixture
def evil_file(tmp_path):
    marker = tmp_path / 'code_ran'
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {'stage0.rbr_dense.conv.weight': torch.zeros(1)},
                'payload': MakesDirectory(marker)}, path)
    return path, marker


LOADING_PATHS = {
    'load_checkpoint_file': lambda p: load_checkpoint_file(p),
    'mmengine CheckpointLoader': lambda p: CheckpointLoader.load_checkpoint(str(p)),
    'mmengine load_checkpoint': lambda p: load_checkpoint(nn.Linear(1, 1), str(p)),
    'init_cfg Pretrained': lambda p: RepVGG(
        'A0', init_cfg=dict(type='Pretrained', checkpoint=str(p))).init_weights(),
    'convert_checkpoint_file': lambda p: convert_checkpoint_file(
        p, p.with_name('out.pth')),
}


@pytest.mark.parametrize('path_name', list(LOADING_PATHS))
def test_pickled_code_is_refused_and_never_run(evil_file, path_name):
    path, marker = evil_file
    with pytest.raises(UnsafeCheckpointError, match='Refusing to load') as info:
        LOADING_PATHS[path_name](path)
    assert 'posix.mkdir' in str(info.value) or 'mkdir' in str(info.value)
    assert not marker.exists()


def test_getattr_is_only_allowed_for_history_buffer_statistics(tmp_path):
    path = tmp_path / 'getattr.pth'
    torch.save({'x': ReachesForInit()}, path)
    with pytest.raises(UnsafeCheckpointError, match='__init__'):
        load_checkpoint_file(path)


def test_a_history_buffer_round_trips(tmp_path):
    buffer = HistoryBuffer()
    buffer.update(1.5)
    buffer.update(2.5)
    path = tmp_path / 'hub.pth'
    torch.save({'buffer': buffer}, path)
    loaded = load_checkpoint_file(path)['buffer']
    assert loaded.mean() == 2.0 and loaded.max() == 2.5


class _Regressor(BaseModel):

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 1))

    def forward(self, inputs, targets=None, mode='tensor'):
        out = self.body(inputs).squeeze(1)
        if mode == 'loss':
            return dict(loss=((out - targets)**2).mean())
        return out


class _Points(torch.utils.data.Dataset):

    def __len__(self):
        return 32

    def __getitem__(self, i):
        x = torch.tensor([i / 32, (i % 5) / 5, 1.0])
        return dict(inputs=x, targets=x.sum() * 0.5)


def _runner(work_dir, max_iters, resume=False):
    torch.manual_seed(0)  # the model is built before the runner seeds anything
    return Runner(
        model=_Regressor(), work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=_Points(), batch_size=4, num_workers=0,
            sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
            collate_fn=dict(type='default_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.05, momentum=0.9)),
        param_scheduler=dict(type='PolyLR', power=0.9, eta_min=1e-4, begin=0,
                             end=8, by_epoch=False),
        train_cfg=dict(by_epoch=False, max_iters=max_iters),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=4,
                                           by_epoch=False)),
        randomness=dict(seed=0), resume=resume, default_scope='mmengine')


def test_mmengine_checkpoints_resume_exactly(tmp_path):
    straight = _runner(tmp_path / 'straight', 8)
    straight.train()

    _runner(tmp_path / 'stopped', 4).train()
    checkpoint = load_checkpoint_file(tmp_path / 'stopped' / 'iter_4.pth')
    assert isinstance(checkpoint['message_hub']['log_scalars']['train/loss'],
                      HistoryBuffer)
    resumed = _runner(tmp_path / 'stopped', 8, resume=True)
    resumed.train()

    assert resumed.iter == 8
    for (name, a), b in zip(straight.model.state_dict().items(),
                            resumed.model.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-7, msg=name)


def _rewrite_pickle(src, dst, old: bytes, new: bytes):
    """Copy a torch zip checkpoint, replacing bytes in its pickle (protocol 2
    writes globals as newline-terminated text, so lengths may change)."""
    import zipfile
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w') as zout:
        for item in zin.infolist():
            data = zin.read(item)
            if item.filename.endswith('data.pkl'):
                assert old in data
                data = data.replace(old, new)
            zout.writestr(item, data)


def test_numpy_1_checkpoints_load(tmp_path):
    """Files written under numpy 1.x name numpy.core.multiarray, not _core."""
    import numpy as np
    buffer = HistoryBuffer()
    buffer.update(np.float64(3.0))
    src = tmp_path / 'numpy2.pth'
    torch.save({'buffer': buffer, 'array': np.arange(4, dtype=np.int64),
                'scalar': np.float32(0.5)}, src)
    old_style = tmp_path / 'numpy1.pth'
    _rewrite_pickle(src, old_style, b'numpy._core.multiarray', b'numpy.core.multiarray')
    loaded = load_checkpoint_file(old_style)
    assert loaded['buffer'].current() == 3.0
    assert loaded['array'].tolist() == [0, 1, 2, 3] and loaded['scalar'] == 0.5


@pytest.fixture
def torch_hub_cache(tmp_path, monkeypatch):
    """An empty torch hub cache: files put there are 'downloaded' already."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    cache = tmp_path / 'torch_home' / 'hub' / 'checkpoints'
    cache.mkdir(parents=True)
    return cache


# mmengine maps open-mmlab://resnet50_v1c (used by the R50 configs) to
# https://download.openmmlab.com/.../resnet50_v1c-2cccc1ad.pth.
@pytest.mark.parametrize('url,cached_name', [
    ('https://example.invalid/evil.pth', 'evil.pth'),
    ('open-mmlab://resnet50_v1c', 'resnet50_v1c-2cccc1ad.pth'),
])
def test_pickled_code_behind_a_url_is_refused(evil_file, torch_hub_cache, url,
                                              cached_name):
    path, marker = evil_file
    os.replace(path, torch_hub_cache / cached_name)
    with pytest.raises(UnsafeCheckpointError, match='Refusing to load'):
        CheckpointLoader.load_checkpoint(url)
    with pytest.raises(UnsafeCheckpointError, match='Refusing to load'):
        RepVGG('A0', init_cfg=dict(type='Pretrained', checkpoint=url)).init_weights()
    assert not marker.exists()


def test_a_url_checkpoint_loads_through_init_cfg(torch_hub_cache):
    """A URL given as init_cfg (here already in the hub cache) goes through
    the layout-aware loader, alone or inside an init_cfg list."""
    torch.manual_seed(0)
    source = RepVGG('A0', out_indices=(4, ))
    torch.save({'state_dict': {f'backbone.{k}': v
                               for k, v in source.state_dict().items()}},
               torch_hub_cache / 'a0.pth')
    url = 'https://example.invalid/a0.pth'
    init = dict(type='Pretrained', checkpoint=url, prefix='backbone.')
    for init_cfg in (init, [dict(type='Kaiming', layer='Conv2d'), init]):
        target = RepVGG('A0', out_indices=(4, ), init_cfg=init_cfg)
        target.init_weights()
        for (name, a), b in zip(source.state_dict().items(),
                                target.state_dict().values()):
            assert torch.equal(a, b), name
