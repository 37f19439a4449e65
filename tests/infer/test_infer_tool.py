"""tools/infer.py on real image and video files: the same labels as mmseg's
own inference, every backend, and clear errors that spare the other inputs."""
import shutil

import cv2
import numpy as np
import pytest

from conftest import DEMO_CONFIG
from tool_runs import load_tool
from repvgg_seg.deploy import switch_to_deploy


@pytest.fixture(scope='module')
def images(toy_cityscapes, tmp_path_factory):
    """Three toy images, one in a nested folder."""
    folder = tmp_path_factory.mktemp('images')
    sources = sorted((toy_cityscapes / 'leftImg8bit' / 'val').rglob('*.png'))[:3]
    (folder / 'nested').mkdir()
    for i, src in enumerate(sources):
        shutil.copy(src, folder / ('nested' if i == 2 else '') / f'img{i}.png')
    return folder


def mmseg_labels(checkpoint, image, deploy=False):
    """mmseg's own init_model + inference_model prediction."""
    from mmseg.apis import inference_model, init_model
    model = init_model(str(DEMO_CONFIG), str(checkpoint), device='cpu')
    if deploy:
        switch_to_deploy(model)
    return inference_model(model, str(image)).pred_sem_seg.data[0].numpy()


def read_labels(path):
    return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)


@pytest.mark.parametrize('deploy', [False, True])
def test_folder_labels_equal_mmseg_inference(images, random_demo_checkpoint,
                                             tmp_path, capsys, deploy):
    out = tmp_path / 'out'
    args = [str(DEMO_CONFIG), str(random_demo_checkpoint), str(images),
            '--out-dir', str(out)] + (['--deploy'] if deploy else [])
    assert load_tool('infer').main(args) == 0
    stdout = capsys.readouterr().out
    assert 'segmented 3 images' in stdout and 'images/s' in stdout
    for name in ('img0', 'img1', 'nested/img2'):
        labels = read_labels(out / 'labels' / f'{name}.png')
        expected = mmseg_labels(random_demo_checkpoint, images / f'{name}.png', deploy)
        assert labels.shape == (160, 320) and labels.dtype == np.uint8
        assert np.array_equal(labels, expected), name
        overlay = cv2.imread(str(out / 'overlays' / f'{name}.png'))
        assert overlay.shape == (160, 320, 3)
    assert len(np.unique(labels)) > 1


def test_onnx_backend_gives_the_pytorch_labels(images, random_demo_checkpoint,
                                               tmp_path):
    tool = load_tool('infer')
    assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint), str(images),
                      '--out-dir', str(tmp_path / 'pt')]) == 0
    # A .pth with the onnxruntime backend is exported first; the .onnx it
    # wrote then runs directly, here on a single image.
    assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint), str(images),
                      '--backend', 'onnxruntime', '--out-dir',
                      str(tmp_path / 'ort')]) == 0
    (onnx_file, ) = (tmp_path / 'ort').glob('*.onnx')
    assert tool.main([str(DEMO_CONFIG), str(onnx_file), str(images / 'img1.png'),
                      '--backend', 'onnxruntime', '--out-dir',
                      str(tmp_path / 'ort1')]) == 0
    for name in ('img0', 'img1', 'nested/img2'):
        expected = read_labels(tmp_path / 'pt' / 'labels' / f'{name}.png')
        assert np.array_equal(read_labels(tmp_path / 'ort' / 'labels' / f'{name}.png'),
                              expected), name
    assert np.array_equal(read_labels(tmp_path / 'ort1' / 'labels' / 'img1.png'),
                          read_labels(tmp_path / 'pt' / 'labels' / 'img1.png'))


def test_video_gives_an_overlay_video(images, random_demo_checkpoint, tmp_path,
                                      capsys):
    video = tmp_path / 'drive.mp4'
    frames = [cv2.imread(str(p)) for p in sorted(images.rglob('*.png'))] * 2
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*'mp4v'), 5,
                             (320, 160))
    for frame in frames:
        writer.write(frame)
    writer.release()
    assert load_tool('infer').main([str(DEMO_CONFIG), str(random_demo_checkpoint),
                             str(video), '--deploy', '--out-dir',
                             str(tmp_path / 'out')]) == 0
    assert 'and 6 video frames' in capsys.readouterr().out
    capture = cv2.VideoCapture(str(tmp_path / 'out' / 'drive_overlay.mp4'))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 6
    ok, frame = capture.read()
    assert ok and frame.shape == (160, 320, 3)


def test_label_ids_are_cityscapes_label_ids(images, random_demo_checkpoint,
                                            tmp_path):
    tool = load_tool('infer')
    for flag, folder in (([], 'train'), (['--label-ids'], 'ids')):
        assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint),
                          str(images / 'img0.png'), '--out-dir',
                          str(tmp_path / folder), *flag]) == 0
    train_ids = read_labels(tmp_path / 'train' / 'labels' / 'img0.png')
    label_ids = read_labels(tmp_path / 'ids' / 'labels' / 'img0.png')
    # road 0 -> 7, sidewalk 1 -> 8, ..., bicycle 18 -> 33 (cityscapesscripts).
    from cityscapesscripts.helpers.labels import trainId2label
    present = [int(t) for t in np.unique(train_ids)]
    assert len(present) >= 2
    for train_id in present:
        assert (label_ids[train_ids == train_id] == trainId2label[train_id].id).all()
    # e.g. road 0 -> 7, sidewalk 1 -> 8, car 13 -> 26 (cityscapesscripts)
    assert [trainId2label[t].id for t in (0, 1, 13)] == [7, 8, 26]


def test_bad_inputs_are_named_and_the_rest_still_run(images, random_demo_checkpoint,
                                                     tmp_path, capsys):
    folder = tmp_path / 'mixed'
    shutil.copytree(images, folder)
    (folder / 'broken.png').write_bytes(b'\x89PNG\r\n\x1a\n not really')
    tool = load_tool('infer')
    rc = tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint), str(folder),
                    '--out-dir', str(tmp_path / 'out')])
    captured = capsys.readouterr()
    assert rc == 1
    assert 'broken.png' in captured.err and 'skipped' in captured.err
    assert 'segmented 3 images' in captured.out
    assert len(list((tmp_path / 'out' / 'labels').rglob('*.png'))) == 3

    missing = tmp_path / 'nowhere'
    assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint),
                      str(missing)]) == 1
    assert f'input not found: {missing}' in capsys.readouterr().err

    fake_video = tmp_path / 'clip.mp4'
    fake_video.write_text('not a video')
    assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint),
                      str(fake_video), '--out-dir', str(tmp_path / 'v')]) == 1
    assert 'clip.mp4: cannot read the video' in capsys.readouterr().err

    assert tool.main([str(DEMO_CONFIG), str(random_demo_checkpoint).replace(
        '.pth', '.onnx'), str(images)]) == 1
    assert '--backend onnxruntime' in capsys.readouterr().err
