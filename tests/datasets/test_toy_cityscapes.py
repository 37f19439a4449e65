"""The synthetic toy Cityscapes set: layout, labels, determinism, mmseg."""
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from matplotlib.path import Path as PolyPath

from repvgg_seg.datasets.cityscapes_check import check_cityscapes_layout
from repvgg_seg.datasets.cityscapes_prep import convert_polygons_to_train_ids
from repvgg_seg.toydata.cityscapes_layout import (DEFAULT_CITIES, SPLITS,
                                                  generate_toy_cityscapes,
                                                  toy_image_stem, toy_rng)
from repvgg_seg.toydata.street_geometry import (TOY_LABELS, TOY_TRAIN_ID_SET,
                                                TOY_TRAIN_IDS)
from repvgg_seg.toydata.street_painting import render_toy_scene

REPO = Path(__file__).resolve().parents[2]
SIZE = (128, 64)  # (W, H)
NUM_TRAIN, NUM_VAL = 6, 2


@pytest.fixture(scope='module')
def toy_root(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp('toy_cityscapes'))
    generate_toy_cityscapes(
        root, num_train=NUM_TRAIN, num_val=NUM_VAL, size=SIZE, seed=3)
    convert_polygons_to_train_ids(root, nproc=2, show_progress=False)
    return root


def _pairs(root: str):
    """(split, image path, polygon path, label path) for every image."""
    layout = check_cityscapes_layout(root)
    for split, split_layout in layout.items():
        yield from zip([split] * split_layout.num_images, split_layout.images,
                       split_layout.polygons, split_layout.train_id_maps)


def test_label_table_matches_cityscapesscripts():
    # The values cityscapesscripts' labels.py assigns; configs rely on them.
    assert TOY_TRAIN_IDS == {
        'road': 0, 'sidewalk': 1, 'building': 2, 'pole': 5,
        'traffic sign': 7, 'vegetation': 8, 'sky': 10, 'person': 11,
        'car': 13
    }
    assert tuple(TOY_TRAIN_IDS) == TOY_LABELS
    assert TOY_TRAIN_ID_SET == (0, 1, 2, 5, 7, 8, 10, 11, 13)


def test_layout_counts(toy_root):
    layout = check_cityscapes_layout(toy_root)
    assert layout['train'].num_images == NUM_TRAIN
    assert layout['val'].num_images == NUM_VAL
    name = osp.basename(layout['train'].images[0])
    city, seq, frame, suffix = name.split('_')
    assert city in layout['train'].cities
    assert (len(seq), len(frame), suffix) == (6, 6, 'leftImg8bit.png')


def test_images_annotations_and_label_maps(toy_root):
    w, h = SIZE
    seen = set()
    for _, img_path, polygon_path, label_path in _pairs(toy_root):
        img = cv2.imread(img_path, cv2.IMREAD_UNCHANGED)
        assert img.shape == (h, w, 3) and img.dtype == np.uint8
        with open(polygon_path) as f:
            ann = json.load(f)
        assert (ann['imgWidth'], ann['imgHeight']) == (w, h)
        assert {o['label'] for o in ann['objects']} <= set(TOY_LABELS)
        for obj in ann['objects']:
            assert all(
                isinstance(v, int) for pt in obj['polygon'] for v in pt)
        label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
        assert label.shape == (h, w) and label.dtype == np.uint8
        values = set(np.unique(label).tolist())
        assert values <= set(TOY_TRAIN_ID_SET) | {255}
        seen |= values
    # Every class should show up somewhere even in this tiny set.
    assert seen >= {0, 1, 2, 10, 13}


def test_designed_pixels(toy_root):
    # By construction the top row is sky (nothing reaches y=0) and the
    # bottom-centre pixel is road (cars stop above the last row, persons and
    # poles stand on the sidewalk).
    w, h = SIZE
    for _, _, _, label_path in _pairs(toy_root):
        label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
        assert (label[0] == TOY_TRAIN_IDS['sky']).all()
        assert label[h - 1, w // 2] == TOY_TRAIN_IDS['road']


def _unoccluded_interior_points(objects):
    """(label, x, y) at polygon centres that lie well inside their own
    polygon and outside every later one, found with matplotlib's geometry
    rather than the PIL rasteriser under test."""
    offsets = [(dx, dy) for dx in (-2, 0, 2) for dy in (-2, 0, 2)]
    paths = [PolyPath(np.array(o['polygon'], float)) for o in objects]
    for i, obj in enumerate(objects):
        cx, cy = np.round(np.array(obj['polygon'], float).mean(0)).astype(int)
        probe = [(cx + dx, cy + dy) for dx, dy in offsets]
        if not all(paths[i].contains_points(probe)):
            continue
        if any(p.contains_points(probe).any() for p in paths[i + 1:]):
            continue
        yield obj['label'], cx, cy


def test_label_values_at_polygon_interiors(toy_root):
    checked = {}
    for _, _, polygon_path, label_path in _pairs(toy_root):
        with open(polygon_path) as f:
            objects = json.load(f)['objects']
        label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
        for name, x, y in _unoccluded_interior_points(objects):
            assert label[y, x] == TOY_TRAIN_IDS[name], (label_path, name, x, y)
            checked[name] = checked.get(name, 0) + 1
    # Road centres are usually behind a car; test_designed_pixels covers road.
    assert {'sky', 'car', 'building', 'person'} <= set(checked), checked


def test_image_agrees_with_converted_labels(toy_root):
    # The converter's output equals the generator's own label rendering, and
    # the stored PNG is the rendered image: image and labels are aligned.
    for split in SPLITS:
        layout = check_cityscapes_layout(toy_root, [split])[split]
        by_name = {osp.basename(p): (p, m) for p, m in
                   zip(layout.images, layout.train_id_maps)}
        for index in range(layout.num_images):
            scene = render_toy_scene(toy_rng(3, split, index), SIZE)
            cities = DEFAULT_CITIES
            city = cities[index % len(cities)]
            stem = toy_image_stem(city, index // len(cities))
            name = f'{stem}_leftImg8bit.png'
            img_path, label_path = by_name[name]
            label = cv2.imread(label_path, cv2.IMREAD_UNCHANGED)
            np.testing.assert_array_equal(label, scene.label_map)
            img = cv2.imread(img_path)[..., ::-1]
            np.testing.assert_array_equal(img, scene.image)


def _tree_bytes(root: str):
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                out[osp.relpath(path, root)] = f.read()
    return out


def test_deterministic_for_a_seed(tmp_path):
    kwargs = dict(num_train=3, num_val=1, size=(96, 48))
    generate_toy_cityscapes(str(tmp_path / 'a'), seed=7, **kwargs)
    generate_toy_cityscapes(str(tmp_path / 'b'), seed=7, **kwargs)
    generate_toy_cityscapes(str(tmp_path / 'c'), seed=8, **kwargs)
    a, b = _tree_bytes(str(tmp_path / 'a')), _tree_bytes(str(tmp_path / 'b'))
    c = _tree_bytes(str(tmp_path / 'c'))
    assert len(a) == 8 and a == b
    assert a.keys() == c.keys()
    differing = [k for k in a if a[k] != c[k]]
    assert len(differing) == len(a)


def test_prefix_does_not_depend_on_count(tmp_path):
    generate_toy_cityscapes(str(tmp_path / 'few'), 2, 1, size=(64, 32))
    generate_toy_cityscapes(str(tmp_path / 'many'), 5, 3, size=(64, 32))
    few, many = (_tree_bytes(str(tmp_path / 'few')),
                 _tree_bytes(str(tmp_path / 'many')))
    assert all(many[k] == v for k, v in few.items())


def test_refuses_to_overwrite_then_replaces(tmp_path):
    root = str(tmp_path)
    generate_toy_cityscapes(root, 4, 1, size=(64, 32))
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_toy_cityscapes(root, 2, 1, size=(64, 32))
    generate_toy_cityscapes(root, 2, 1, size=(64, 32), overwrite=True)
    # No stale images from the larger first run survive.
    assert check_cityscapes_layout(root)['train'].num_images == 2


@pytest.mark.parametrize('bad', [dict(cities=('a_b', )), dict(cities=()),
                                 dict(size=(16, 16)),
                                 dict(num_train=-1)])
def test_rejects_bad_arguments(tmp_path, bad):
    with pytest.raises(ValueError):
        generate_toy_cityscapes(str(tmp_path), **bad)


def test_cli_generates_and_converts(tmp_path):
    out = tmp_path / 'toy'
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(REPO), os.environ.get('PYTHONPATH', '')]))
    proc = subprocess.run(
        [sys.executable, 'tools/make_toy_cityscapes.py', str(out),
         '--num-train', '2', '--num-val', '1', '--size', '64', '32',
         '--nproc', '2'],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The toy set mirrors the official download: trainId maps for training
    # plus the labelIds/instanceIds maps the official evaluation reads.
    assert 'label maps written: 9' in proc.stdout
    for kind in ('labelTrainIds', 'labelIds', 'instanceIds'):
        assert len(list(out.glob(f'gtFine/*/*/*_gtFine_{kind}.png'))) == 3


def test_mmseg_cityscapes_dataset_reads_toy_set(toy_root):
    mmseg_datasets = pytest.importorskip('mmseg.datasets')
    from mmcv.transforms import LoadImageFromFile
    from mmseg.datasets.transforms import LoadAnnotations

    # Transform instances, not config dicts, so no registry scope is needed.
    dataset = mmseg_datasets.CityscapesDataset(
        data_root=toy_root,
        data_prefix=dict(
            img_path='leftImg8bit/train', seg_map_path='gtFine/train'),
        pipeline=[LoadImageFromFile(), LoadAnnotations()])
    assert len(dataset) == NUM_TRAIN
    for info in dataset.load_data_list():
        assert osp.isfile(info['img_path']) and osp.isfile(
            info['seg_map_path'])
    sample = dataset[0]
    assert sample['img'].shape == (SIZE[1], SIZE[0], 3)
    assert set(np.unique(sample['gt_seg_map']).tolist()) <= set(
        TOY_TRAIN_ID_SET) | {255}
