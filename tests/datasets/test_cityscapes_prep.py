"""Cityscapes layout checks, polygon conversion and the prepare CLI."""
import glob
import json
import os
import os.path as osp
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from tool_runs import run_main
from repvgg_seg.datasets.cityscapes_check import (
    CityscapesLayoutError, check_cityscapes_layout, train_id_path)
from repvgg_seg.datasets.cityscapes_prep import (
    CityscapesConversionError, convert_polygons_to_train_ids, write_split_lists)
from repvgg_seg.toydata.cityscapes_layout import generate_toy_cityscapes
from repvgg_seg.toydata.street_geometry import TOY_TRAIN_ID_SET

REPO = Path(__file__).resolve().parents[2]
NUM_TRAIN, NUM_VAL = 3, 2


@pytest.fixture
def root(tmp_path) -> str:
    """A tiny, valid, unconverted Cityscapes-layout data root."""
    path = str(tmp_path / 'cityscapes')
    generate_toy_cityscapes(
        path, num_train=NUM_TRAIN, num_val=NUM_VAL, size=(64, 32))
    return path


def _label_maps(root: str):
    return sorted(
        glob.glob(osp.join(root, 'gtFine', '*', '*', '*_labelTrainIds.png')))


# ---------------------------------------------------------------- layout ---


def test_valid_layout_summary(root):
    layout = check_cityscapes_layout(root)
    assert list(layout) == ['train', 'val']
    assert layout['train'].num_images == NUM_TRAIN
    assert layout['val'].num_images == NUM_VAL
    assert layout['train'].cities == ['pixelstadt', 'toyburg']
    for img, polygon in zip(layout['train'].images, layout['train'].polygons):
        assert osp.isfile(img) and osp.isfile(polygon)
        assert osp.basename(img)[:-len('_leftImg8bit.png')] == osp.basename(
            polygon)[:-len('_gtFine_polygons.json')]
    assert check_cityscapes_layout(root, ['val']).keys() == {'val'}


def test_missing_root(tmp_path):
    missing = str(tmp_path / 'nowhere')
    with pytest.raises(CityscapesLayoutError,
                       match='data root does not exist') as info:
        check_cityscapes_layout(missing)
    assert missing in str(info.value)
    assert isinstance(info.value, FileNotFoundError)


def test_root_is_a_file(tmp_path):
    path = tmp_path / 'file'
    path.write_text('')
    with pytest.raises(CityscapesLayoutError, match='is not a directory'):
        check_cityscapes_layout(str(path))


@pytest.mark.parametrize('folder', ['gtFine', 'leftImg8bit'])
def test_missing_top_folder(root, folder):
    shutil.rmtree(osp.join(root, folder))
    with pytest.raises(CityscapesLayoutError) as info:
        check_cityscapes_layout(root)
    msg = str(info.value)
    assert f'has no {folder}/ folder' in msg and root in msg


def test_both_top_folders_missing(tmp_path):
    with pytest.raises(CityscapesLayoutError,
                       match='has no leftImg8bit/ or gtFine/ folder'):
        check_cityscapes_layout(str(tmp_path))


@pytest.mark.parametrize('folder', ['gtFine', 'leftImg8bit'])
def test_missing_split(root, folder):
    shutil.rmtree(osp.join(root, folder, 'val'))
    with pytest.raises(CityscapesLayoutError,
                       match=f'split folder {folder}/val does not exist'):
        check_cityscapes_layout(root)
    # Only the requested splits are checked.
    assert check_cityscapes_layout(root, ['train'])['train'].num_images == 3


def test_empty_split(root):
    img_val = osp.join(root, 'leftImg8bit', 'val')
    for city in os.listdir(img_val):
        shutil.rmtree(osp.join(img_val, city))
    with pytest.raises(CityscapesLayoutError,
                       match='no images .* found in split "val"'):
        check_cityscapes_layout(root)


def test_images_outside_city_folders(root):
    img_val = osp.join(root, 'leftImg8bit', 'val')
    for path in glob.glob(osp.join(img_val, '*', '*.png')):
        shutil.move(path, img_val)
    with pytest.raises(CityscapesLayoutError,
                       match='found 2 directly in .*per-city sub-folders'):
        check_cityscapes_layout(root)


def test_image_without_polygons(root):
    polygon = sorted(
        glob.glob(osp.join(root, 'gtFine', 'train', '*', '*.json')))[1]
    os.remove(polygon)
    with pytest.raises(CityscapesLayoutError) as info:
        check_cityscapes_layout(root)
    msg = str(info.value)
    assert '1 of 3 images in split "train" have no polygon' in msg
    assert osp.relpath(polygon, root) in msg


def test_many_missing_polygons_are_summarised(tmp_path):
    root = str(tmp_path)
    generate_toy_cityscapes(root, num_train=13, num_val=1, size=(32, 32))
    shutil.rmtree(osp.join(root, 'gtFine', 'train'))
    os.makedirs(osp.join(root, 'gtFine', 'train'))
    with pytest.raises(CityscapesLayoutError) as info:
        check_cityscapes_layout(root)
    msg = str(info.value)
    assert '13 of 13 images' in msg and '... and 3 more' in msg
    assert msg.count('_gtFine_polygons.json') == 10


# ------------------------------------------------------------ conversion ---


def test_convert_writes_train_id_maps(root, capsys):
    summary = convert_polygons_to_train_ids(root, nproc=2)
    maps = _label_maps(root)
    assert summary.written == maps and len(maps) == NUM_TRAIN + NUM_VAL
    assert summary.skipped == []
    assert summary.layout['train'].train_id_maps == [
        train_id_path(p) for p in summary.layout['train'].polygons
    ]
    for path in maps:
        label = cv2.imread(path, cv2.IMREAD_UNCHANGED)
        assert label.shape == (32, 64) and label.dtype == np.uint8
        assert set(np.unique(label).tolist()) <= set(TOY_TRAIN_ID_SET) | {255}
    # A progress bar was shown; no temporary files were left behind.
    assert f'{len(maps)}/{len(maps)}' in capsys.readouterr().out
    assert not glob.glob(osp.join(root, 'gtFine', '*', '*', '*.tmp*'))


def test_eval_maps_agree_with_train_ids(root):
    from cityscapesscripts.helpers.labels import trainId2label
    convert_polygons_to_train_ids(root, nproc=1, show_progress=False,
                                  with_eval_maps=True)
    for train_path in _label_maps(root):
        train_ids = cv2.imread(train_path, cv2.IMREAD_UNCHANGED)
        ids = cv2.imread(train_path.replace('labelTrainIds', 'labelIds'),
                         cv2.IMREAD_UNCHANGED)
        instances = cv2.imread(
            train_path.replace('labelTrainIds', 'instanceIds'),
            cv2.IMREAD_UNCHANGED)
        assert ids.dtype == np.uint8 and instances.dtype == np.uint16
        for train_id in np.unique(train_ids):
            assert np.all(ids[train_ids == train_id] ==
                          trainId2label[int(train_id)].id)
        # Instance ids are label id * 1000 + n for things, the label id else.
        assert np.array_equal(np.where(instances >= 1000, instances // 1000,
                                       instances), ids)


def test_convert_skips_existing_unless_overwrite(root):
    first = convert_polygons_to_train_ids(root, nproc=1, show_progress=False)
    target = first.written[0]
    cv2.imwrite(target, np.full((32, 64), 7, np.uint8))  # a marker

    again = convert_polygons_to_train_ids(root, show_progress=False)
    assert again.written == [] and again.skipped == first.written
    assert (cv2.imread(target, cv2.IMREAD_UNCHANGED) == 7).all()

    redone = convert_polygons_to_train_ids(
        root, nproc=2, overwrite=True, show_progress=False)
    assert redone.written == first.written
    assert not (cv2.imread(target, cv2.IMREAD_UNCHANGED) == 7).all()


def test_serial_and_parallel_agree(root, tmp_path):
    other = str(tmp_path / 'copy')
    shutil.copytree(root, other)
    serial = convert_polygons_to_train_ids(root, nproc=1, show_progress=False)
    parallel = convert_polygons_to_train_ids(
        other, nproc=2, show_progress=False)
    for a, b in zip(serial.written, parallel.written):
        assert osp.relpath(a, root) == osp.relpath(b, other)
        np.testing.assert_array_equal(
            cv2.imread(a, cv2.IMREAD_UNCHANGED),
            cv2.imread(b, cv2.IMREAD_UNCHANGED))


def test_convert_checks_layout_first(root):
    os.remove(
        sorted(glob.glob(osp.join(root, 'gtFine', 'val', '*', '*.json')))[0])
    with pytest.raises(CityscapesLayoutError):
        convert_polygons_to_train_ids(root, show_progress=False)
    assert _label_maps(root) == []  # nothing half-done


@pytest.mark.parametrize('nproc', [1, 2])
def test_unknown_label_is_a_clear_error(root, nproc):
    polygon = sorted(
        glob.glob(osp.join(root, 'gtFine', 'train', '*', '*.json')))[0]
    with open(polygon) as f:
        ann = json.load(f)
    ann['objects'][0]['label'] = 'flying saucer'
    with open(polygon, 'w') as f:
        json.dump(ann, f)
    # In a pool, cityscapesscripts' sys.exit() on unknown labels would hang.
    with pytest.raises(CityscapesConversionError) as info:
        convert_polygons_to_train_ids(
            root, nproc=nproc, show_progress=False)
    assert polygon in str(info.value) and 'flying saucer' in str(info.value)


def test_write_split_lists(root):
    paths = write_split_lists(root)
    with open(paths['val']) as f:
        lines = f.read().splitlines()
    assert len(lines) == NUM_VAL
    for line in lines:
        city, stem = line.split('/')
        assert osp.isfile(
            osp.join(root, 'leftImg8bit', 'val', city,
                     stem + '_leftImg8bit.png'))


# ------------------------------------------------------------------- CLI ---


def _run_cli(*args: str) -> subprocess.CompletedProcess:
    # PYTHONPATH makes the test independent of whether the package is
    # installed; the tool itself relies on the (editable) install.
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get('PYTHONPATH', '')]))
    return subprocess.run(
        [sys.executable, 'tools/prepare_cityscapes.py', *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_cli_converts(root):
    proc = _run_cli(root, '--nproc', '2')
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert 'train: 3 images in 2 cities' in proc.stdout
    assert 'label maps written: 5, already present: 0' in proc.stdout
    assert len(_label_maps(root)) == NUM_TRAIN + NUM_VAL


def test_cli_reports_missing_root(tmp_path, monkeypatch, capsys):
    missing = str(tmp_path / 'no_cityscapes_here')
    assert run_main('prepare_cityscapes', [missing], monkeypatch) == 1
    captured = capsys.readouterr()
    assert ('error: CityscapesLayoutError: Cityscapes data root does not '
            f'exist: {missing}') in captured.err
    assert 'Traceback' not in captured.out + captured.err
