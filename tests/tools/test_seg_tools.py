"""tools/train.py and tools/test.py end to end, as users run them."""
import re
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import DEMO_CONFIG, REPO
from repvgg_seg.checkpoint import load_checkpoint_file

METRICS = re.compile(r'Iter\((?:test|val)\) \[\d+/\d+\]\s+(aAcc: [\d.]+\s+mIoU: '
                     r'[\d.]+\s+mAcc: [\d.]+)')


def data_options(root, iters, val_interval=1000, ckpt_interval=1000):
    return [
        '--cfg-options',
        f'train_dataloader.dataset.data_root={root}',
        f'val_dataloader.dataset.data_root={root}',
        f'test_dataloader.dataset.data_root={root}',
        'train_dataloader.batch_size=2',
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={val_interval}',
        f'default_hooks.checkpoint.interval={ckpt_interval}',
        'default_hooks.checkpoint.max_keep_ckpts=10',
    ]


def run_tool(args, env, timeout=300, check=True):
    proc = subprocess.run([sys.executable, *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if check:
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc


@pytest.fixture(scope='module')
def trained(toy_cityscapes, tmp_path_factory, tool_env):
    work_dir = tmp_path_factory.mktemp('train')
    run_tool(['tools/train.py', str(DEMO_CONFIG), '--work-dir', str(work_dir),
              *data_options(toy_cityscapes, 6, val_interval=6, ckpt_interval=6)],
             tool_env)
    return work_dir / 'iter_6.pth'


def label_maps(folder):
    import cv2
    return {p.name: cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
            for p in sorted(folder.glob('*.png'))}


def test_test_with_deploy_gives_the_same_metrics(trained, toy_cityscapes, tmp_path,
                                                 tool_env):
    common = [str(DEMO_CONFIG), str(trained), *data_options(toy_cityscapes, 6)]
    plain = run_tool(['tools/test.py', *common, '--work-dir', str(tmp_path / 'p'),
                      '--out', str(tmp_path / 'pred_plain')], tool_env)
    show_dir = tmp_path / 'overlays'
    deployed = run_tool(['tools/test.py', *common, '--deploy', '--work-dir',
                         str(tmp_path / 'd'), '--show-dir', str(show_dir),
                         '--out', str(tmp_path / 'pred')], tool_env)
    assert 'RepVGGDeployHook: testing' not in plain.stdout
    assert 'RepVGGDeployHook: testing: re-parameterized' in deployed.stdout
    assert 'no BatchNorm left' in deployed.stdout
    assert METRICS.findall(plain.stdout) == METRICS.findall(deployed.stdout) != []
    assert len(list(show_dir.glob('vis_data/vis_image/*.png'))) == 4
    # Same predicted class at every pixel, not just the same rounded metrics.
    plain_maps, deployed_maps = (label_maps(tmp_path / 'pred_plain'),
                                 label_maps(tmp_path / 'pred'))
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


def test_test_refuses_a_checkpoint_carrying_code(toy_cityscapes, tmp_path, tool_env):
    marker = tmp_path / 'code_ran'
    evil = tmp_path / 'evil.pth'
    subprocess.run([sys.executable, '-c', (
        'import os, torch\n'
        'class P:\n'
        '    def __reduce__(self):\n'
        f'        return os.mkdir, ({str(marker)!r},)\n'
        f'torch.save({{"state_dict": {{}}, "x": P()}}, {str(evil)!r})\n')],
        check=True)
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), str(evil),
                     *data_options(toy_cityscapes, 1)], tool_env, check=False)
    assert proc.returncode != 0
    assert 'UnsafeCheckpointError: Refusing to load' in proc.stderr
    assert not marker.exists()


def test_official_cityscapes_metric_is_selectable(trained, toy_cityscapes, tmp_path,
                                                  tool_env):
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), str(trained), '--deploy',
                     '--metric', 'both', '--work-dir', str(tmp_path),
                     *data_options(toy_cityscapes, 6),
                     f'cityscapes_evaluator.output_dir={tmp_path / "cs"}'],
                    tool_env)
    assert 'averageScoreCategories' in proc.stdout and 'mIoU' in proc.stdout


def test_resume_after_kill_loses_nothing(toy_cityscapes, tmp_path, tool_env):
    # Validation right after each checkpoint, as in the real configs: what it
    # does to the RNGs must not make the resumed run differ.
    intervals = dict(val_interval=2, ckpt_interval=2)
    # The killed run is started long so that it is still running when killed;
    # the lr schedule (which ends with the train loop) is pinned for both.
    pinned = ['param_scheduler.0.end=600']
    straight = tmp_path / 'straight'
    run_tool(['tools/train.py', str(DEMO_CONFIG), '--work-dir', str(straight),
              *data_options(toy_cityscapes, 8, **intervals), *pinned], tool_env)

    killed = tmp_path / 'killed'
    proc = subprocess.Popen(
        [sys.executable, 'tools/train.py', str(DEMO_CONFIG), '--work-dir',
         str(killed), *data_options(toy_cityscapes, 400, **intervals), *pinned],
        cwd=REPO, env=tool_env, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        last = killed / 'last_checkpoint'
        saved = 0
        while saved < 4:
            assert proc.poll() is None and time.time() < deadline
            time.sleep(0.1)
            match = last.exists() and re.search(r'iter_(\d+)\.pth', last.read_text())
            saved = int(match.group(1)) if match else 0
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert saved in (4, 6), f'killed too late, after iter_{saved}'
    resumed = run_tool(['tools/train.py', str(DEMO_CONFIG), '--work-dir',
                        str(killed), '--resume',
                        *data_options(toy_cityscapes, 8, **intervals), *pinned],
                       tool_env)
    assert f'resumed epoch: 0, iter: {saved}' in resumed.stdout

    a = load_checkpoint_file(straight / 'iter_8.pth')
    b = load_checkpoint_file(killed / 'iter_8.pth')
    assert a['meta']['iter'] == b['meta']['iter'] == 8
    for key, value in a['state_dict'].items():
        torch.testing.assert_close(b['state_dict'][key], value, rtol=1e-5,
                                   atol=1e-6, msg=key)
    momentum_a = a['optimizer']['state']
    momentum_b = b['optimizer']['state']
    for idx in momentum_a:
        torch.testing.assert_close(momentum_b[idx]['momentum_buffer'],
                                   momentum_a[idx]['momentum_buffer'],
                                   rtol=1e-5, atol=1e-6)


def test_two_process_gloo_training_validates_through_the_hook(
        toy_cityscapes, tmp_path, tool_env):
    proc = run_tool([
        '-m', 'torch.distributed.run', '--nproc_per_node=2',
        '--master_port=29517', 'tools/train.py', str(DEMO_CONFIG),
        '--launcher', 'pytorch', '--work-dir', str(tmp_path / 'ddp'),
        *data_options(toy_cityscapes, 4, val_interval=2, ckpt_interval=4)
    ], tool_env)
    out = proc.stdout
    assert 'distributed run on gloo with 2 processes' in out
    assert 'device_ids=None' in out and 'broadcast_buffers=False' in out
    assert out.count('RepVGGDeployHook: validating a deployed copy') == 2
    val_metrics = METRICS.findall(out)
    assert len(val_metrics) == 2  # training went on after the first validation
    checkpoint = tmp_path / 'ddp' / 'iter_4.pth'
    assert checkpoint.exists()
    # Each rank validated 2 of the 4 images on rank 0's weights and BN
    # statistics (per-process BN lets the replicas' drift apart): the gathered
    # metrics are those of the saved model tested in one process.
    test = run_tool(['tools/test.py', str(DEMO_CONFIG), str(checkpoint),
                     '--deploy', '--work-dir', str(tmp_path / 'test'),
                     *data_options(toy_cityscapes, 4)], tool_env)
    assert METRICS.findall(test.stdout) == val_metrics[-1:]


@pytest.mark.parametrize('options, message', [
    (['train_dataloader.dataset.data_root=/nonexistent/toy'],
     'train_dataloader: data root /nonexistent/toy does not exist'),
    (['val_dataloader.dataset.data_prefix.seg_map_path=gtFine/x'],
     'val_dataloader: label folder'),
    (['model.backbone.arch=C9'], 'Unknown RepVGG arch'),
    (['model.backbone.dilations=[1,1,1,[1,2],4]'], 'dilations[3]'),
])
def test_train_reports_bad_input_without_traceback(options, message,
                                                   toy_cityscapes, tool_env):
    args = data_options(toy_cityscapes, 2) + options
    proc = run_tool(['tools/train.py', str(DEMO_CONFIG), *args], tool_env,
                    check=False)
    assert proc.returncode == 1
    assert message in proc.stderr and 'Traceback' not in proc.stderr


def test_image_without_label_is_named(toy_cityscapes, tmp_path, tool_env):
    import shutil
    root = tmp_path / 'broken'
    shutil.copytree(toy_cityscapes, root)
    victim = next(root.glob('gtFine/val/*/*_gtFine_labelTrainIds.png'))
    victim.unlink()
    stem = victim.name.replace('_gtFine_labelTrainIds.png', '')
    proc = run_tool(['tools/train.py', str(DEMO_CONFIG), *data_options(root, 2)],
                    tool_env, check=False)
    assert proc.returncode == 1
    assert 'val_dataloader: 1 of 4 images have no label map' in proc.stderr
    assert f'{stem}_leftImg8bit.png' in proc.stderr
    assert 'tools/prepare_cityscapes.py' in proc.stderr


def test_amp_without_gpu_is_a_clear_error(tool_env):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    proc = run_tool(['tools/train.py', str(DEMO_CONFIG), '--amp'], tool_env,
                    check=False)
    assert proc.returncode == 1 and '--amp needs a GPU' in proc.stderr


def test_missing_imagenet_weights_and_checkpoint_are_clear(tool_env):
    proc = run_tool(['tools/train.py', 'configs/pspnet_repvgg_b1g2.py'], tool_env,
                    check=False)
    assert proc.returncode == 1
    assert "ImageNet weights not found at 'checkpoints/RepVGG-B1g2-train.pth'" in proc.stderr
    proc = run_tool(['tools/test.py', str(DEMO_CONFIG), 'missing.pth'], tool_env,
                    check=False)
    assert proc.returncode == 1 and 'Checkpoint file not found: missing.pth' in proc.stderr


def test_exported_model_is_tested_like_the_checkpoint(trained, toy_cityscapes,
                                                      tmp_path, tool_env):
    """tools/test.py CONFIG model.onnx: mmseg's test loop (slide inference on
    160x160 crops here) with onnxruntime doing the forward gives the
    --deploy metrics and labels."""
    onnx_file = tmp_path / 'demo.onnx'
    run_tool(['tools/export_onnx.py', str(DEMO_CONFIG), str(trained), '--shape',
              '160', '320', '--no-resize', '--out', str(onnx_file)], tool_env)
    common = [str(DEMO_CONFIG), *data_options(toy_cityscapes, 6)]
    deployed = run_tool(['tools/test.py', common[0], str(trained), *common[1:],
                         '--deploy', '--work-dir', str(tmp_path / 'd'), '--out',
                         str(tmp_path / 'pred_pt')], tool_env)
    exported = run_tool(['tools/test.py', common[0], str(onnx_file), *common[1:],
                         '--work-dir', str(tmp_path / 'o'), '--out',
                         str(tmp_path / 'pred_onnx')], tool_env)
    assert 'RepVGGDeployHook: testing' not in exported.stdout
    assert METRICS.findall(exported.stdout) == METRICS.findall(deployed.stdout) != []
    pt, ort = label_maps(tmp_path / 'pred_pt'), label_maps(tmp_path / 'pred_onnx')
    assert len(pt) == 4 and pt.keys() == ort.keys()
    same = sum((pt[k] == ort[k]).sum() for k in pt) / sum(v.size for v in pt.values())
    assert same > 0.9999

    # The fixed-size error remains only for files exported with a fixed shape.
    fixed = tmp_path / 'fixed.onnx'
    run_tool(['tools/export_onnx.py', str(DEMO_CONFIG), str(trained), '--shape',
              '160', '320', '--static-shape', '--out', str(fixed)], tool_env)
    proc = run_tool(['tools/test.py', common[0], str(fixed), *common[1:],
                     '--work-dir', str(tmp_path / 'f')], tool_env, check=False)
    assert proc.returncode == 1
    assert 'exported for 160x320 inputs' in proc.stderr
    assert 'Export again with --shape 160 160' in proc.stderr
    assert 'Traceback' not in proc.stderr
