"""Issue 10's table, row by row: bad input stops with one clear error naming
the problem and the fix, a non-zero exit, before any work is done or any
file is written."""
import os
import shutil
import socket
import subprocess
import sys

import cv2
import pytest
import torch

from conftest import DEMO_CONFIG, REPO
from repvgg_seg.apis import build_segmentor, load_config
from repvgg_seg.checkpoint import CheckpointFileError, read_checkpoint
from repvgg_seg.engine.work_dir_lock import LOCK_NAME, WorkDirLockedError, work_dir_lock
from repvgg_seg.models import RepVGG
from tool_runs import run_main


def data_options(root, *extra):
    return ['--cfg-options', *[f'{s}_dataloader.dataset.data_root={root}'
                               for s in ('train', 'val', 'test')], *extra]


@pytest.fixture
def toy_copy(toy_cityscapes, tmp_path):
    root = tmp_path / 'toy'
    shutil.copytree(toy_cityscapes, root)
    return root


def first_label(root, split='val'):
    return sorted((root / 'gtFine' / split).rglob('*_labelTrainIds.png'))[0]


def assert_nothing_started(capsys, work_dir):
    out, err = capsys.readouterr()
    assert 'Environment' not in out + err and 'Config:' not in out + err
    assert not work_dir.exists()
    return err


def test_checkpoint_of_another_config_is_refused(toy_cityscapes, tmp_path,
                                                 monkeypatch, capsys):
    cfg = load_config(DEMO_CONFIG, {'model.decode_head.channels': 64})
    ckpt = tmp_path / 'head64.pth'
    torch.save({'state_dict': build_segmentor(cfg, keep_auxiliary_head=True)
                .state_dict()}, ckpt)
    rc = run_main('test', [DEMO_CONFIG, ckpt, '--work-dir', tmp_path / 'w',
                           *data_options(toy_cityscapes)], monkeypatch)
    err = assert_nothing_started(capsys, tmp_path / 'w')
    assert rc == 1 and 'Traceback' not in err
    assert f'error: CheckpointMismatchError: {ckpt} does not fit' in err
    assert 'decode_head.conv_seg.weight (checkpoint (19, 64, 1, 1)' in err
    assert 'decode head 64 channels' in err and 'decode head 32 channels' in err
    assert 'use the config the checkpoint was trained with' in err
    assert 'tools/quantize.py take --non-strict' in err
    assert 'mIoU' not in err


def test_training_checkpoint_into_a_deploy_config_is_refused(
        toy_cityscapes, random_demo_checkpoint, tmp_path, monkeypatch, capsys):
    rc = run_main('test', [DEMO_CONFIG, random_demo_checkpoint, '--work-dir',
                           tmp_path / 'w', *data_options(
                               toy_cityscapes, 'model.backbone.deploy=True')],
                  monkeypatch)
    err = assert_nothing_started(capsys, tmp_path / 'w')
    assert rc == 1
    assert 'the checkpoint holds: training-form' in err
    assert 'model.backbone.deploy=True' in err and '--deploy' in err


def test_non_strict_loads_what_fits(toy_cityscapes, tmp_path, monkeypatch, capsys):
    cfg = load_config(DEMO_CONFIG, {'model.decode_head.channels': 64})
    ckpt = tmp_path / 'head64.pth'
    torch.save({'state_dict': build_segmentor(cfg).state_dict()}, ckpt)
    rc = run_main('test', [DEMO_CONFIG, ckpt, '--non-strict', '--work-dir',
                           tmp_path / 'w', *data_options(toy_cityscapes)],
                  monkeypatch)
    assert rc == 0 and 'mIoU' in capsys.readouterr().out


def test_second_run_into_a_held_work_dir_stops_at_once(toy_cityscapes, tmp_path,
                                                       monkeypatch, capsys):
    work = tmp_path / 'work'
    with work_dir_lock(str(work)) as lock:
        with pytest.raises(WorkDirLockedError, match=f'pid {os.getpid()} on'):
            with work_dir_lock(str(work)):
                pass
        rc = run_main('train', [DEMO_CONFIG, '--work-dir', work,
                                *data_options(toy_cityscapes)], monkeypatch)
        err = capsys.readouterr().err
        assert rc == 1 and f'{work} is in use by another training run' in err
        assert f'pid {os.getpid()} on {socket.gethostname()}' in err
        assert sorted(os.listdir(work)) == [LOCK_NAME]  # nothing else written
        assert 'Environment' not in err  # refused before any check or dump
    assert not os.path.exists(lock)
    # A lock file left by a run that was killed holds no lock any more (the
    # kernel dropped it with the process): the next run simply takes it.
    holder = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time; '
         'from repvgg_seg.engine.work_dir_lock import work_dir_lock; '
         'ctx = work_dir_lock(sys.argv[1]); ctx.__enter__(); print("held", flush=True); '
         'time.sleep(60)', str(work)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(WorkDirLockedError, match=f'pid {holder.pid} on'):
            with work_dir_lock(str(work)):
                pass
        holder.kill()
        holder.wait()
        assert (work / LOCK_NAME).exists()  # killed: the file stays behind
        with work_dir_lock(str(work)):
            assert f'"pid": {os.getpid()}' in (work / LOCK_NAME).read_text()
    finally:
        holder.kill()
    for name in ('SLURM_PROCID', 'OMPI_COMM_WORLD_RANK', 'RANK'):
        monkeypatch.setenv(name, '1')  # not rank 0 under any launcher: no lock
        with work_dir_lock(str(work)) as path:
            assert path is None and not (work / LOCK_NAME).exists()
        monkeypatch.delenv(name)


@pytest.mark.parametrize('damage', ['value', 'size', 'corrupt'])
def test_bad_data_stops_train_and_test_before_they_start(toy_copy, tmp_path,
                                                         random_demo_checkpoint,
                                                         monkeypatch, capsys, damage):
    label = first_label(toy_copy)
    image = sorted((toy_copy / 'leftImg8bit' / 'val').rglob('*.png'))[0]
    if damage == 'value':
        labels = cv2.imread(str(label), cv2.IMREAD_UNCHANGED)
        labels[:5, :5] = 25
        cv2.imwrite(str(label), labels)
        expected = [f'{label}: values 25', 'hold values that are no class',
                    'allowed: 0..18, 255']
    elif damage == 'size':
        labels = cv2.imread(str(label), cv2.IMREAD_UNCHANGED)
        cv2.imwrite(str(label), labels[:, :300])
        expected = [f'{label}: label map 300x160, image 320x160',
                    '1 label maps differ in size']
    else:
        image.write_bytes(image.read_bytes()[:200])
        expected = [f'{image}: cannot decode the image', '1 files cannot be read']
    work = tmp_path / 'work'
    rc = run_main('train', [DEMO_CONFIG, '--work-dir', work,
                            *data_options(toy_copy)], monkeypatch)
    err = assert_nothing_started(capsys, work)
    assert rc == 1 and 'val_dataloader: the data would break this run' in err
    for words in expected:
        assert words in err
    rc = run_main('test', [DEMO_CONFIG, random_demo_checkpoint, '--work-dir', work,
                           *data_options(toy_copy)], monkeypatch)
    err = assert_nothing_started(capsys, work)
    assert rc == 1 and 'test_dataloader: the data would break' in err


def test_data_check_is_cached_and_sees_changes(toy_copy):
    from repvgg_seg.datasets.content_check import scan_contents
    images = sorted((toy_copy / 'leftImg8bit').rglob('*.png'))
    pairs = [(str(i), str(i).replace('leftImg8bit', 'gtFine', 1).replace(
        '_gtFine_', '_').replace('leftImg8bit.png', 'gtFine_labelTrainIds.png'))
        for i in images]
    allowed = list(range(19)) + [255]
    first = scan_contents(pairs, allowed, use_cache=True)
    again = scan_contents(pairs, allowed, use_cache=True)
    assert first.ok and again.ok and again.checked == 0
    assert again.from_cache == len(pairs) == 12
    labels = cv2.imread(pairs[0][1], cv2.IMREAD_UNCHANGED)
    labels[0, 0] = 200
    cv2.imwrite(pairs[0][1], labels)
    changed = scan_contents(pairs, allowed, use_cache=True)
    assert changed.checked == 1 and changed.bad_values[0].endswith('values 200')


@pytest.mark.parametrize('content', ['truncated', 'text', 'empty'])
def test_files_that_are_not_checkpoints_get_one_line(random_demo_checkpoint,
                                                     toy_cityscapes, tmp_path,
                                                     monkeypatch, capsys, content):
    bad = tmp_path / 'bad.pth'
    data = random_demo_checkpoint.read_bytes()
    bad.write_bytes({'truncated': data[:len(data) // 2], 'text': b'weights\n',
                     'empty': b''}[content])
    with pytest.raises(CheckpointFileError, match=str(bad)):
        read_checkpoint(bad)
    rc = run_main('test', [DEMO_CONFIG, bad, '--work-dir', tmp_path / 'w',
                           *data_options(toy_cityscapes)], monkeypatch)
    err = assert_nothing_started(capsys, tmp_path / 'w')
    assert rc == 1 and 'Traceback' not in err
    (line, ) = [ln for ln in err.splitlines() if ln.startswith('error:')]
    assert str(bad) in line and {'truncated': 'truncated or corrupt',
                                 'text': 'not a PyTorch checkpoint',
                                 'empty': 'the file is empty'}[content] in line


def test_bad_strides_and_settings_are_errors_before_the_run(toy_cityscapes, tmp_path,
                                                           monkeypatch, capsys):
    for strides in ((2, 0, 2, 1, 1), (2, 2, -1, 1, 1)):
        with pytest.raises(ValueError, match=r'strides\[\d\] must be positive'):
            RepVGG('A0', strides=strides)
    work = tmp_path / 'work'
    rc = run_main('train', [DEMO_CONFIG, '--work-dir', work, *data_options(
        toy_cityscapes, 'model.backbone.strides=[2,0,2,1,1]')], monkeypatch)
    err = assert_nothing_started(capsys, work)
    assert rc == 1 and 'strides[1] must be positive' in err
    rc = run_main('train', [DEMO_CONFIG, '--work-dir', work, *data_options(
        toy_cityscapes, 'model.backbone.arch=B9')], monkeypatch)
    err = assert_nothing_started(capsys, work)
    assert rc == 1 and "Unknown RepVGG arch 'B9'" in err


def test_a0_weights_into_b1g2_name_the_arch(tmp_path):
    torch.save({'state_dict': RepVGG('A0').state_dict()}, tmp_path / 'a0.pth')
    backbone = RepVGG('B1g2', init_cfg=dict(type='Pretrained',
                                            checkpoint=str(tmp_path / 'a0.pth')))
    with pytest.raises(ValueError) as err:
        backbone.init_weights()
    message = str(err.value)
    assert 'the checkpoint holds: training-form RepVGG-A0 backbone' in message
    assert 'the model is: training-form RepVGG-B1g2 backbone' in message
    assert "model.backbone.arch to the checkpoint's" in message


def test_convert_refuses_its_source_and_writes_whole_segmentors(
        random_demo_checkpoint, tmp_path, monkeypatch, capsys):
    src = tmp_path / 'src.pth'
    shutil.copy(random_demo_checkpoint, src)
    before = src.read_bytes()
    rc = run_main('convert_checkpoint', [src, src, '--segmentor', DEMO_CONFIG],
                  monkeypatch)
    assert rc == 1 and 'is the input' in capsys.readouterr().err
    rc = run_main('convert_checkpoint', [src, src], monkeypatch)
    assert rc == 1 and src.read_bytes() == before
    capsys.readouterr()
    dst = tmp_path / 'deployed.pth'
    rc = run_main('convert_checkpoint', [src, dst, '--segmentor', DEMO_CONFIG],
                  monkeypatch)
    assert rc == 0 and 'whole segmentor' in capsys.readouterr().out
    saved = torch.load(dst, weights_only=True)
    assert saved['meta']['form'] == 'deploy'
    assert len(saved['meta']['dataset_meta']['classes']) == 19
    assert any('.branch_reparam.' in k for k in saved['state_dict'])
    x = torch.randn(1, 3, 64, 64)
    reference = build_segmentor(load_config(DEMO_CONFIG), src)
    deployed = build_segmentor(load_config(DEMO_CONFIG), dst)
    with torch.no_grad():
        a, b = reference._forward(x), deployed._forward(x)
    assert ((a - b).abs().max() / a.abs().max()) < 1e-5
    rc = run_main('convert_checkpoint', [src, tmp_path / 'bb.pth'], monkeypatch)
    assert rc == 0 and 'backbone checkpoint' in capsys.readouterr().out


@pytest.mark.parametrize('name,args', [
    ('train', []), ('test', ['ckpt.pth']),
    ('benchmark', ['--macs-only']), ('infer', ['ckpt.pth', 'img.png']),
    ('export_onnx', ['--random-weights']), ('quantize', ['c.pth', '--out-dir', 'q'])])
def test_missing_config_is_one_line_in_every_tool(name, args, tmp_path, monkeypatch,
                                                  capsys):
    missing = tmp_path / 'configs' / 'nope.py'
    rc = run_main(name, [missing, *args], monkeypatch)
    err = capsys.readouterr().err
    assert rc in (1, 2) and 'Traceback' not in err
    assert f'config file not found: {missing}' in err


def test_resume_with_nothing_to_resume_says_so(toy_cityscapes, tmp_path):
    from repvgg_seg.engine import setup_train_cfg
    from mmengine.logging import MMLogger
    logger = MMLogger.get_instance('resume_check', log_level='INFO')
    lines = []
    handler = type('H', (__import__('logging').Handler, ), {
        'emit': lambda self, record: lines.append(record.getMessage())})()
    logger.addHandler(handler)
    cfg = load_config(DEMO_CONFIG, {f'{s}_dataloader.dataset.data_root':
                                     str(toy_cityscapes) for s in ('train', 'val')})
    setup_train_cfg(cfg, 'demo.py', work_dir=str(tmp_path / 'w'), resume=True)
    assert any('--resume: nothing to resume in' in ln and 'from scratch' in ln
               for ln in lines)


def test_new_checkpoints_load_anywhere_without_repvgg_seg(toy_cityscapes, tmp_path,
                                                         tool_env):
    """A plain torch.load(weights_only=True), no allow-list, no import of ours:
    what MMSegInferencer does before it knows our config."""
    work = tmp_path / 'w'
    proc = subprocess.run(
        [sys.executable, 'tools/train.py', str(DEMO_CONFIG), '--work-dir', str(work),
         *data_options(toy_cityscapes, 'train_cfg.max_iters=2',
                       'train_cfg.val_interval=100', 'train_dataloader.batch_size=2',
                       'default_hooks.checkpoint.interval=2')],
        cwd=REPO, env=tool_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    probe = ('import sys, torch; c = torch.load(sys.argv[1], weights_only=True); '
             'assert "repvgg_seg" not in sys.modules; '
             'print(sorted(c), type(c["message_hub"]["log_scalars"]))')
    loaded = subprocess.run([sys.executable, '-c', probe, str(work / 'iter_2.pth')],
                            capture_output=True, text=True, timeout=120)
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "'message_hub'" in loaded.stdout and "'rng_state'" in loaded.stdout
