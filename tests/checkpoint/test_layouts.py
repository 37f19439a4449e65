"""Weights written in every layout users bring load and give the paper's outputs."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from reference_repvgg import (SMALL_ARCH, SMALL_DILATIONS, SMALL_LAYERS,
                              SMALL_STRIDES, layout_state_dict, random_params,
                              reference_forward)
from tool_runs import run_main
from repvgg_seg.checkpoint import (CheckpointLayoutError, CheckpointMismatchError,
                                   DeployCheckpointError, load_checkpoint_file)
from repvgg_seg.models import RepVGG

REPO = Path(__file__).resolve().parents[2]
LAYOUTS = ('authors', 'timm', 'mmpretrain', 'repvgg_seg')
PARAMS = random_params(SMALL_LAYERS, seed=0)
X = torch.randn(2, 3, 40, 40, generator=torch.Generator().manual_seed(1))
EXPECTED = reference_forward(X, SMALL_LAYERS, PARAMS, out_stages=(3, 4))


def backbone(path=None, deploy=False, **init):
    init_cfg = dict(type='Pretrained', checkpoint=str(path), **init) if path else None
    return RepVGG(SMALL_ARCH, strides=SMALL_STRIDES, dilations=SMALL_DILATIONS,
                  out_indices=(3, 4), deploy=deploy, init_cfg=init_cfg)


def outputs(model):
    model.eval()
    with torch.no_grad():
        return model(X)


def assert_matches_reference(model):
    got = outputs(model)
    assert len(got) == len(EXPECTED)
    for g, want in zip(got, EXPECTED):
        assert ((g - want).abs().max() / want.abs().max()).item() < 1e-5


def save(tmp_path, state, name='ckpt.pth'):
    path = tmp_path / name
    torch.save(state, path)
    return path


@pytest.mark.parametrize('layout', LAYOUTS)
@pytest.mark.parametrize('form', ['train', 'deploy'])
def test_each_layout_and_form_gives_the_paper_outputs(tmp_path, layout, form):
    state = layout_state_dict(layout, SMALL_LAYERS, PARAMS, form=form)
    model = backbone(save(tmp_path, state), deploy=form == 'deploy')
    model.init_weights()
    assert_matches_reference(model)


@pytest.mark.parametrize('layout', LAYOUTS)
def test_training_checkpoint_into_deploy_backbone_is_fused_on_load(tmp_path, layout):
    state = layout_state_dict(layout, SMALL_LAYERS, PARAMS, form='train')
    model = backbone(save(tmp_path, state), deploy=True)
    model.init_weights()
    assert model.deploy
    assert_matches_reference(model)


@pytest.mark.parametrize('wrap', [
    lambda s: {'state_dict': s},
    lambda s: {'model': s, 'epoch': 3},
    lambda s: {f'module.{k}': v for k, v in s.items()},
    lambda s: {'state_dict': {f'module.{k}': v for k, v in s.items()}},
], ids=['state_dict', 'model', 'module', 'state_dict+module'])
def test_wrappers_and_ddp_prefix(tmp_path, wrap):
    state = layout_state_dict('authors', SMALL_LAYERS, PARAMS)
    model = backbone(save(tmp_path, wrap(state)))
    model.init_weights()
    assert_matches_reference(model)


def test_segmentor_checkpoint_loads_with_and_without_prefix(tmp_path):
    state = layout_state_dict('repvgg_seg', SMALL_LAYERS, PARAMS, num_classes=None)
    state['decode_head.conv_seg.weight'] = torch.zeros(19, 8, 1, 1)
    path = save(tmp_path, {'state_dict': state, 'meta': {'iter': 10}})
    for init in ({}, {'prefix': 'backbone.'}):
        model = backbone(path, **init)
        model.init_weights()
        assert_matches_reference(model)
    with pytest.raises(CheckpointLayoutError, match="prefix='encoder.'.*backbone."):
        backbone(path, prefix='encoder.').init_weights()


def test_deploy_checkpoint_into_training_backbone_says_build_with_deploy(tmp_path):
    state = layout_state_dict('authors', SMALL_LAYERS, PARAMS, form='deploy')
    model = backbone(save(tmp_path, state))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(DeployCheckpointError, match='deploy=True'):
        model.init_weights()
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_mismatched_checkpoint_names_the_keys(tmp_path):
    state = layout_state_dict('timm', SMALL_LAYERS, PARAMS)
    del state['stages.1.1.conv_1x1.conv.weight']
    state['stages.3.0.conv_kxk.conv.weight'] = torch.zeros(64, 16, 3, 3)
    state['stages.0.2.conv_kxk.conv.weight'] = torch.zeros(8, 8, 3, 3)
    model = backbone(save(tmp_path, state))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as info:
        model.init_weights()
    message = str(info.value)
    assert 'missing in checkpoint: stage2.1.branch_1x1.conv.weight' in message
    assert 'not in model: stage1.2.branch_3x3.conv.weight' in message
    assert ('stage4.0.branch_3x3.conv.weight (checkpoint (64, 16, 3, 3), '
            'model (32, 16, 3, 3))') in message
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_weights_without_a_place_in_repvgg_are_named(tmp_path):
    state = layout_state_dict('authors', SMALL_LAYERS, PARAMS)
    state['stage1.0.se.down.weight'] = torch.zeros(2, 8, 1, 1)
    with pytest.raises(CheckpointMismatchError, match='stage1.0.se.down.weight'):
        backbone(save(tmp_path, state)).init_weights()


def test_unknown_layout_and_missing_file(tmp_path):
    path = save(tmp_path, {'layer1.0.conv1.weight': torch.zeros(1)})
    with pytest.raises(CheckpointLayoutError, match='layer1.0.conv1.weight') as info:
        backbone(path).init_weights()
    assert 'stage0.rbr_dense.conv.weight' in str(info.value)
    missing = tmp_path / 'nope.pth'
    with pytest.raises(FileNotFoundError, match=str(missing)):
        backbone(missing).init_weights()


def test_mixed_layouts_are_refused(tmp_path):
    state = layout_state_dict('authors', SMALL_LAYERS, PARAMS)
    state.update(layout_state_dict('timm', SMALL_LAYERS, PARAMS))
    with pytest.raises(CheckpointLayoutError, match='mixed'):
        backbone(save(tmp_path, state)).init_weights()


@pytest.mark.parametrize('to', ['train', 'deploy'])
def test_convert_tool_writes_our_layout(tmp_path, to, monkeypatch, capsys):
    src = save(tmp_path, layout_state_dict('mmpretrain', SMALL_LAYERS, PARAMS),
               'mmpretrain.pth')
    dst = tmp_path / 'out' / 'ours.pth'
    assert run_main('convert_checkpoint', [src, dst, '--to', to], monkeypatch) == 0
    assert f'{to} form' in capsys.readouterr().out
    state = load_checkpoint_file(dst)['state_dict']
    reparam = [k for k in state if 'branch_reparam' in k]
    assert bool(reparam) == (to == 'deploy')
    assert {k for k in state if k.startswith('head.')} == {'head.fc.weight',
                                                          'head.fc.bias'}
    model = backbone(dst, deploy=to == 'deploy')
    model.init_weights()
    assert_matches_reference(model)


def test_convert_tool_reports_errors_without_traceback(tmp_path, tool_env):
    # As users run it: a subprocess, so a traceback would really show.
    result = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'convert_checkpoint.py'),
         str(tmp_path / 'missing.pth'), str(tmp_path / 'out.pth')],
        capture_output=True, text=True, env=tool_env)
    assert result.returncode == 1
    assert 'Checkpoint file not found' in result.stderr
    assert 'Traceback' not in result.stderr
