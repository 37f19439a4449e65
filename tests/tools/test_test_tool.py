"""tools/test.py end to end: --deploy, TTA, the official metric, exported
models through the same test loop, and checkpoints that are refused."""
import subprocess
import sys

import pytest

from conftest import DEMO_CONFIG
from tool_runs import METRICS, data_options, label_maps, run_main, run_tool


@pytest.fixture(scope='module')
def trained(toy_cityscapes, tmp_path_factory, tool_env):
    work_dir = tmp_path_factory.mktemp('train')
    run_tool(['tools/train.py', str(DEMO_CONFIG), '--work-dir', str(work_dir),
              *data_options(toy_cityscapes, 6, val_interval=6, ckpt_interval=6)],
             tool_env)
    return work_dir / 'iter_6.pth'


@pytest.fixture(scope='module')
def deployed(trained, toy_cityscapes, tmp_path_factory, tool_env):
    """``tools/test.py --deploy`` on the trained checkpoint: its stdout, the
    folder of predicted label maps and the folder of overlays."""
    out = tmp_path_factory.mktemp('deployed')
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), str(trained),
                     *data_options(toy_cityscapes, 6), '--deploy', '--work-dir',
                     str(out / 'work'), '--show-dir', str(out / 'overlays'),
                     '--out', str(out / 'pred')], tool_env)
    return proc.stdout, out / 'pred', out / 'overlays'


def test_test_with_deploy_gives_the_same_metrics(trained, deployed, toy_cityscapes,
                                                 tmp_path, tool_env):
    common = [str(DEMO_CONFIG), str(trained), *data_options(toy_cityscapes, 6)]
    plain = run_tool(['tools/test.py', *common, '--work-dir', str(tmp_path / 'p'),
                      '--out', str(tmp_path / 'pred_plain')], tool_env)
    deployed_stdout, pred_dir, show_dir = deployed
    assert 'RepVGGDeployHook: testing' not in plain.stdout
    assert 'RepVGGDeployHook: testing: re-parameterized' in deployed_stdout
    assert 'no BatchNorm left' in deployed_stdout
    assert METRICS.findall(plain.stdout) == METRICS.findall(deployed_stdout) != []
    assert len(list(show_dir.glob('vis_data/vis_image/*.png'))) == 4
    # Same predicted class at every pixel, not just the same rounded metrics.
    plain_maps, deployed_maps = (label_maps(tmp_path / 'pred_plain'),
                                 label_maps(pred_dir))
    assert len(deployed_maps) == 4 and plain_maps.keys() == deployed_maps.keys()
    for name, labels in plain_maps.items():
        assert labels.shape == (160, 320), name
        assert (labels == deployed_maps[name]).all(), name
    assert len({int(v) for m in plain_maps.values() for v in set(m.ravel())}) > 1


def test_tta_with_deploy_runs_the_deployed_model_under_tta(trained, toy_cityscapes,
                                                          tmp_path, tool_env):
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), str(trained), '--tta',
                     '--deploy', '--work-dir', str(tmp_path),
                     *data_options(toy_cityscapes, 6)], tool_env)
    assert "type='SegTTAModel'" in proc.stdout
    assert 'RepVGGDeployHook: testing: re-parameterized' in proc.stdout
    assert METRICS.findall(proc.stdout)


def test_test_refuses_a_checkpoint_carrying_code(toy_cityscapes, tmp_path,
                                                 monkeypatch, capsys):
    marker = tmp_path / 'code_ran'
    evil = tmp_path / 'evil.pth'
    subprocess.run([sys.executable, '-c', (
        'import os, torch\n'
        'class P:\n'
        '    def __reduce__(self):\n'
        f'        return os.mkdir, ({str(marker)!r},)\n'
        f'torch.save({{"state_dict": {{}}, "x": P()}}, {str(evil)!r})\n')],
        check=True)
    rc = run_main('test', [DEMO_CONFIG, evil, '--work-dir', tmp_path / 'w',
                           *data_options(toy_cityscapes, 1)], monkeypatch)
    assert rc != 0
    assert 'UnsafeCheckpointError: Refusing to load' in capsys.readouterr().err
    assert not marker.exists()


def test_missing_checkpoint_is_clear(tmp_path, monkeypatch, capsys):
    assert run_main('test', [DEMO_CONFIG, 'missing.pth', '--work-dir',
                             tmp_path / 'w'], monkeypatch) == 1
    assert 'Checkpoint file not found: missing.pth' in capsys.readouterr().err


def test_official_cityscapes_metric_is_selectable(trained, toy_cityscapes, tmp_path,
                                                  tool_env):
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), str(trained), '--deploy',
                     '--metric', 'both', '--work-dir', str(tmp_path),
                     *data_options(toy_cityscapes, 6),
                     f'cityscapes_evaluator.output_dir={tmp_path / "cs"}'],
                    tool_env)
    assert 'averageScoreCategories' in proc.stdout and 'mIoU' in proc.stdout


def test_exported_model_is_tested_like_the_checkpoint(trained, deployed,
                                                      toy_cityscapes, tmp_path,
                                                      tool_env, monkeypatch,
                                                      capsys):
    """tools/test.py CONFIG model.onnx: mmseg's test loop (slide inference on
    160x160 crops here) with onnxruntime doing the forward gives the
    --deploy metrics and labels."""
    onnx_file = tmp_path / 'demo.onnx'
    assert run_main('export_onnx', [DEMO_CONFIG, trained, '--shape', '160', '320',
                                    '--no-resize', '--out', onnx_file],
                    monkeypatch) == 0
    common = [str(DEMO_CONFIG), *data_options(toy_cityscapes, 6)]
    deployed_stdout, pred_dir, _ = deployed
    exported = run_tool(['tools/test.py', common[0], str(onnx_file), *common[1:],
                         '--work-dir', str(tmp_path / 'o'), '--out',
                         str(tmp_path / 'pred_onnx')], tool_env)
    assert 'RepVGGDeployHook: testing' not in exported.stdout
    assert METRICS.findall(exported.stdout) == METRICS.findall(deployed_stdout) != []
    pt, ort = label_maps(pred_dir), label_maps(tmp_path / 'pred_onnx')
    assert len(pt) == 4 and pt.keys() == ort.keys()
    same = sum((pt[k] == ort[k]).sum() for k in pt) / sum(v.size for v in pt.values())
    assert same > 0.9999

    # The fixed-size error remains only for files exported with a fixed shape.
    fixed = tmp_path / 'fixed.onnx'
    assert run_main('export_onnx', [DEMO_CONFIG, trained, '--shape', '160', '320',
                                    '--static-shape', '--out', fixed],
                    monkeypatch) == 0
    capsys.readouterr()
    assert run_main('test', [common[0], fixed, *common[1:], '--work-dir',
                             tmp_path / 'f'], monkeypatch) == 1
    err = capsys.readouterr().err
    assert 'exported for 160x320 inputs' in err
    assert 'Export again without --static-shape' in err
    assert 'or with --shape 160 160' in err
    assert 'Traceback' not in err
