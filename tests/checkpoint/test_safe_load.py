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
