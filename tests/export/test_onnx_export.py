"""ONNX export of a deployed PSPNet, checked with onnxruntime."""
import copy

import onnx
import pytest
import torch

from conftest import DEMO_CONFIG, REPO
from numerics import randomize_bn, rel_err
from tool_runs import load_tool
from repvgg_seg.apis import (SegmentorForward, build_segmentor,
                             is_deployed, load_config)
from repvgg_seg.deploy import switch_to_deploy
from repvgg_seg.export import export_segmentor, ort_run, ort_session


@pytest.fixture(scope='module')
def trained_form():
    torch.manual_seed(0)
    return randomize_bn(build_segmentor(load_config(DEMO_CONFIG)))


@pytest.mark.parametrize('resize', [True, False])
def test_export_matches_pytorch(trained_form, tmp_path, resize):
    deployed = switch_to_deploy(copy.deepcopy(trained_form))
    path = tmp_path / 'toy.onnx'
    result = export_segmentor(deployed, path, (2, 3, 96, 96), resize_to_input=resize)
    assert result.check.ok and result.check.rel_max_err < 1e-4
    assert result.output_shape == ((2, 19, 96, 96) if resize else (2, 19, 12, 12))
    graph = onnx.load(str(path))
    onnx.checker.check_model(graph)
    assert {o.domain: o.version for o in graph.opset_import}[''] == 17
    assert not any(n.op_type == 'BatchNormalization' for n in graph.graph.node)

    # The batch stays free, and the deployed graph equals the training form.
    x = torch.randn(3, 3, 96, 96)
    with torch.no_grad():
        expected = SegmentorForward(trained_form, resize_to_input=resize)(x)
    out = torch.from_numpy(ort_run(ort_session(path), x))
    assert rel_err(out, expected) < 1e-4


@pytest.mark.parametrize('hw,static', [((64, 64), True), ((160, 320), False)])
def test_any_input_size_exports_exactly(trained_form, tmp_path, hw, static):
    """Bins 3 and 6 do not divide 8x8 or 20x40 features: pyramid pooling is
    written out as the exact adaptive-pooling means, fixed or free size."""
    deployed = switch_to_deploy(copy.deepcopy(trained_form))
    path = tmp_path / 'any.onnx'
    result = export_segmentor(deployed, path, (1, 3, *hw), dynamic_shape=not static)
    assert result.check.ok and result.check.rel_max_err < 1e-4
    session = ort_session(path)
    dims = session.get_inputs()[0].shape
    assert (dims[2:] == list(hw)) == static
    if not static:  # one file for whole images and slide crops alike
        for other in ((160, 160), (96, 200)):
            x = torch.randn(1, 3, *other)
            with torch.no_grad():
                expected = SegmentorForward(deployed, resize_to_input=True)(x)
            assert rel_err(torch.from_numpy(ort_run(session, x)), expected) < 1e-4


@pytest.mark.parametrize('form', ['train', 'deploy'])
def test_tool_loads_checkpoint_either_form(tmp_path, capsys, form):
    torch.manual_seed(1)
    model = randomize_bn(build_segmentor(load_config(DEMO_CONFIG),
                                         keep_auxiliary_head=True), seed=1)
    reference = switch_to_deploy(copy.deepcopy(model))
    saved = reference if form == 'deploy' else model
    ckpt = tmp_path / f'{form}.pth'
    torch.save({'meta': {'iter': 6}, 'state_dict': saved.state_dict()}, ckpt)

    out = tmp_path / 'm.onnx'
    tool = load_tool('export_onnx')
    rc = tool.main([str(DEMO_CONFIG), str(ckpt), '--shape', '96', '96',
                    '--out', str(out)])
    stdout = capsys.readouterr().out
    assert rc == 0, stdout
    assert 'onnxruntime vs PyTorch: relative max error' in stdout
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        expected = SegmentorForward(reference, resize_to_input=True)(x)
    assert rel_err(torch.from_numpy(ort_run(ort_session(out), x)), expected) < 1e-4

    loaded = build_segmentor(load_config(DEMO_CONFIG), ckpt)
    assert is_deployed(loaded) == (form == 'deploy')


def test_tool_wants_weights_or_explicit_random(capsys):
    assert load_tool('export_onnx').main([str(DEMO_CONFIG)]) == 2
    assert '--random-weights' in capsys.readouterr().err


def test_table8_config_exports_exactly_where_its_bins_do_not_divide(tmp_path):
    """B1g2-fast at 72x136: 9x17 stride-8 features, bins 2, 3 and 6 divide
    neither side (a full frame, 128x256, behaves alike but takes minutes)."""
    torch.manual_seed(0)
    model = switch_to_deploy(randomize_bn(build_segmentor(
        load_config(REPO / 'configs' / 'pspnet_repvgg_b1g2_fast.py'))))
    result = export_segmentor(model, tmp_path / 'b1g2.onnx', (1, 3, 72, 136))
    assert result.check.ok and result.check.rel_max_err < 1e-4
    assert result.output_shape == (1, 19, 72, 136)


def test_onnx_from_another_config_is_refused(trained_form, tmp_path):
    from repvgg_seg.export import onnx_model_cfg
    from mmseg.registry import MODELS
    deployed = switch_to_deploy(copy.deepcopy(trained_form))
    deployed.decode_head.conv_seg = torch.nn.Conv2d(32, 5, 1)  # 5 classes
    deployed.decode_head.num_classes = deployed.decode_head.out_channels = 5
    path = tmp_path / 'five.onnx'
    export_segmentor(deployed, path, (1, 3, 64, 64), config='five_classes.py')
    with pytest.raises(ValueError, match='predicts 5 classes, but this config'):
        MODELS.build(onnx_model_cfg(load_config(DEMO_CONFIG).model, path))
