"""INT8 post-training quantization: a real QDQ model, calibrated on the
training split, scored with mmseg's metric and timed, with clear errors."""
import json

import numpy as np
import onnx
import pytest
import torch

from conftest import DEMO_CONFIG
from repvgg_seg.apis import check_output
from repvgg_seg.export import export_segmentor, ort_run, ort_session
from repvgg_seg.export.int8 import CalibrationError, quantize_onnx
from repvgg_seg.quantize import quantize_config


def data_options(root):
    return {f'{split}_dataloader.dataset.data_root': str(root)
            for split in ('train', 'val', 'test')}


def test_quantize_writes_scores_and_times_both(toy_cityscapes, random_demo_checkpoint,
                                               tmp_path):
    lines = []
    report = quantize_config(str(DEMO_CONFIG), str(random_demo_checkpoint),
                             str(tmp_path), calib_num=2, shape=(96, 128),
                             cfg_options=data_options(toy_cityscapes), iters=2,
                             rounds=1, progress=lines.append)
    saved = json.loads((tmp_path / 'quantize.json').read_text())
    for key in ('miou_fp32', 'miou_int8', 'ms_fp32', 'ms_int8', 'method',
                'calib_num', 'shape'):
        assert saved[key] is not None, key
    assert saved['method'] == 'minmax' and saved['calib_num'] == 2
    assert saved['shape'] == [96, 128]
    # Two 160x320 training images in slide mode: 3 crops of 160x160 each.
    assert report.calib_inputs == 6 and 'network inputs of 160x160' in lines[1]
    assert 0 <= saved['miou_int8'] <= 100 and saved['ms_int8'] > 0
    assert report.agreement > 0.5
    assert 'INT8 speed-up over onnxruntime fp32' in report.table()

    # A real QDQ model: int8 weights with one scale per output channel.
    graph = onnx.load(report.int8_onnx).graph
    ops = {n.op_type for n in graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear', 'Conv'} <= ops
    inits = {i.name: i for i in graph.initializer}
    weight_scales = [n for n in graph.node if n.op_type == 'DequantizeLinear'
                     and inits.get(n.input[0]) is not None
                     and inits[n.input[0]].data_type == onnx.TensorProto.INT8]
    assert weight_scales
    assert all(len(inits[n.input[1]].dims) == 1 and inits[n.input[1]].dims[0] > 1
               for n in weight_scales)
    # The fp32 export scores what the deployed PyTorch model scores.
    from repvgg_seg.apis import load_config
    from repvgg_seg.engine import setup_test_cfg
    from repvgg_seg.engine.cli import build_runner
    cfg = setup_test_cfg(load_config(DEMO_CONFIG, data_options(toy_cityscapes)),
                         str(DEMO_CONFIG), str(random_demo_checkpoint),
                         work_dir=str(tmp_path / 'pt'), deploy=True)
    pytorch = build_runner(cfg).test()
    assert abs(pytorch['mIoU'] - saved['miou_fp32']) <= 0.01
    assert saved['metrics_fp32']['mIoU'] == saved['miou_fp32']


@pytest.mark.parametrize('method', ['entropy', 'percentile'])
def test_calibration_methods_give_working_models(tmp_path, method):
    from repvgg_seg.apis import build_segmentor, load_config
    from repvgg_seg.deploy import switch_to_deploy
    torch.manual_seed(0)
    model = switch_to_deploy(build_segmentor(load_config(DEMO_CONFIG)))
    fp32 = tmp_path / 'm.onnx'
    export_segmentor(model, fp32, (1, 3, 64, 64), resize_to_input=False)
    batches = [torch.randn(1, 3, 64, 64).numpy() for _ in range(3)]
    quantize_onnx(fp32, tmp_path / 'q.onnx', batches, method)
    x = torch.randn(1, 3, 64, 96)  # free height and width survive quantization
    s32, s8 = ort_session(fp32), ort_session(tmp_path / 'q.onnx')
    out8 = torch.from_numpy(ort_run(s8, x))
    assert out8.shape == (1, 19, 8, 12) and np.isfinite(out8.numpy()).all()
    assert check_output(out8, torch.from_numpy(ort_run(s32, x)), 0).agreement > 0.5


def test_calibration_errors_are_clear(toy_cityscapes, random_demo_checkpoint,
                                      tmp_path):
    with pytest.raises(CalibrationError, match='no calibration batches'):
        quantize_onnx('unused.onnx', tmp_path / 'q.onnx', [])
    with pytest.raises(ValueError, match='method must be one of'):
        quantize_onnx('unused.onnx', tmp_path / 'q.onnx', [np.zeros(1)], 'max')
    with pytest.raises(CalibrationError, match='at least 1'):
        quantize_config(str(DEMO_CONFIG), str(random_demo_checkpoint),
                        str(tmp_path), calib_num=0,
                        cfg_options=data_options(toy_cityscapes))
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match=f'train_dataloader: data root {missing}'):
        quantize_config(str(DEMO_CONFIG), str(random_demo_checkpoint),
                        str(tmp_path / 'out'),
                        cfg_options={'train_dataloader.dataset.data_root': str(missing)})
    empty = tmp_path / 'empty'
    for sub in ('leftImg8bit/train', 'gtFine/train'):
        (empty / sub).mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='no images matching'):
        quantize_config(str(DEMO_CONFIG), str(random_demo_checkpoint),
                        str(tmp_path / 'out'),
                        cfg_options={'train_dataloader.dataset.data_root': str(empty)})
