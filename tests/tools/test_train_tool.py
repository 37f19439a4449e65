"""tools/train.py end to end: exact resume after a kill, CPU-distributed
training, and bad input stopped with one line before anything starts."""
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from conftest import DEMO_CONFIG, REPO
from repvgg_seg.checkpoint import load_checkpoint_file
from tool_runs import METRICS, data_options, run_main, run_tool


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
def test_train_reports_bad_input_without_traceback(options, message, toy_cityscapes,
                                                   tmp_path, monkeypatch, capsys):
    args = [DEMO_CONFIG, '--work-dir', tmp_path / 'w',
            *data_options(toy_cityscapes, 2), *options]
    assert run_main('train', args, monkeypatch) == 1
    err = capsys.readouterr().err
    assert message in err and 'Traceback' not in err


def test_image_without_label_is_named(toy_cityscapes, tmp_path, monkeypatch, capsys):
    root = tmp_path / 'broken'
    shutil.copytree(toy_cityscapes, root)
    victim = next(root.glob('gtFine/val/*/*_gtFine_labelTrainIds.png'))
    victim.unlink()
    stem = victim.name.replace('_gtFine_labelTrainIds.png', '')
    assert run_main('train', [DEMO_CONFIG, '--work-dir', tmp_path / 'w',
                              *data_options(root, 2)], monkeypatch) == 1
    err = capsys.readouterr().err
    assert 'val_dataloader: 1 of 4 images have no label map' in err
    assert f'{stem}_leftImg8bit.png' in err
    assert 'tools/prepare_cityscapes.py' in err


def test_amp_without_gpu_is_a_clear_error(tmp_path, monkeypatch, capsys):
    if torch.cuda.is_available():
        pytest.skip('this machine has a GPU')
    assert run_main('train', [DEMO_CONFIG, '--amp', '--work-dir', tmp_path / 'w'],
                    monkeypatch) == 1
    assert '--amp needs a GPU' in capsys.readouterr().err


def test_missing_imagenet_weights_are_clear(tmp_path, monkeypatch, capsys):
    assert run_main('train', [REPO / 'configs' / 'pspnet_repvgg_b1g2.py',
                              '--work-dir', tmp_path / 'w'], monkeypatch) == 1
    assert ("ImageNet weights not found at 'checkpoints/RepVGG-B1g2-train.pth'"
            in capsys.readouterr().err)
