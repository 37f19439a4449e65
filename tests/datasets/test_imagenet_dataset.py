"""Tests of ImageNetDataset, the toy image-folder generator and a full
registry-built classification pipeline, on real files under tmp_path."""
import hashlib
import os
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, TRANSFORMS

import repvgg_seg.datasets.transforms  # noqa: F401  (registers transforms)
from repvgg_seg.datasets.imagenet import ImageNetDataset
from repvgg_seg.toydata.imagefolder import generate_toy_imagefolder


def _write_image(path, size: int = 8, value: int = 0) -> str:
    os.makedirs(osp.dirname(path), exist_ok=True)
    img = np.full((size, size + 2, 3), value, np.uint8)
    assert cv2.imwrite(str(path), img), path
    return str(path)


def _touch(path) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('not an image')


@pytest.fixture
def folder_tree(tmp_path):
    """train/ with three classes created out of order, mixed extensions."""
    train = tmp_path / 'train'
    _write_image(train / 'zebra' / 'z1.JPEG')
    _write_image(train / 'zebra' / 'nested' / 'z2.png')
    _write_image(train / 'apple' / 'a1.Jpg')
    _write_image(train / 'apple' / 'a2.bmp')
    _write_image(train / 'apple' / 'a3.PNG')
    _write_image(train / 'mango' / 'm1.jpeg')
    _touch(train / 'mango' / 'notes.txt')
    _write_image(train / 'mango' / '.hidden.png')
    _write_image(train / '.cache' / 'c.png')
    _touch(train / 'README.txt')
    return tmp_path


def _labels_by_name(dataset):
    return {
        osp.basename(dataset.get_data_info(i)['img_path']):
        dataset.get_data_info(i)['gt_label']
        for i in range(len(dataset))
    }


def test_class_folders_sorted(folder_tree):
    ds = ImageNetDataset(data_root=str(folder_tree),
                         data_prefix=dict(img_path='train'))
    assert ds.metainfo['classes'] == ('apple', 'mango', 'zebra')
    assert len(ds) == 6
    assert _labels_by_name(ds) == {
        'a1.Jpg': 0, 'a2.bmp': 0, 'a3.PNG': 0, 'm1.jpeg': 1, 'z1.JPEG': 2,
        'z2.png': 2
    }
    info = ds.get_data_info(0)
    assert osp.isfile(info['img_path'])
    assert info['sample_idx'] == 0
    assert ds.get_cat_ids(5) == [2]
    assert 'num_classes=3' in repr(ds)


def test_string_prefix_and_absolute_path(folder_tree):
    by_str = ImageNetDataset(data_prefix=str(folder_tree / 'train'))
    by_root = ImageNetDataset(data_root=str(folder_tree), data_prefix='train')
    assert len(by_str) == len(by_root) == 6
    assert by_str.metainfo == by_root.metainfo


def test_classes_select_and_order_folders(folder_tree):
    ds = ImageNetDataset(data_root=str(folder_tree), data_prefix='train',
                         classes=['zebra', 'apple'])
    assert ds.metainfo['classes'] == ('zebra', 'apple')
    labels = _labels_by_name(ds)
    assert labels['z1.JPEG'] == 0 and labels['a1.Jpg'] == 1
    assert 'm1.jpeg' not in labels

    classes_file = folder_tree / 'classes.txt'
    classes_file.write_text('mango\napple\n\n')
    from_file = ImageNetDataset(data_root=str(folder_tree),
                                data_prefix='train',
                                classes=str(classes_file))
    assert from_file.metainfo['classes'] == ('mango', 'apple')
    via_metainfo = ImageNetDataset(data_root=str(folder_tree),
                                   data_prefix='train',
                                   metainfo=dict(classes=['mango']))
    assert len(via_metainfo) == 1


def test_flat_val_with_ann_file(tmp_path):
    for name in ('v1.JPEG', 'v2.JPEG', 'v3.png'):
        _write_image(tmp_path / 'val' / name)
    (tmp_path / 'meta').mkdir()
    (tmp_path / 'meta' / 'val.txt').write_text(
        'v1.JPEG 2\nv2.JPEG 0\n\nv3.png 1\n')
    ds = ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                         ann_file='meta/val.txt', classes=['a', 'b', 'c'],
                         test_mode=True)
    assert len(ds) == 3
    assert ds.metainfo['classes'] == ('a', 'b', 'c')
    assert _labels_by_name(ds) == {'v1.JPEG': 2, 'v2.JPEG': 0, 'v3.png': 1}
    # Without names the labels are still read; there are just no names.
    unnamed = ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                              ann_file='meta/val.txt')
    assert len(unnamed) == 3 and unnamed.metainfo['classes'] is None


def test_error_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='train')


def test_error_no_class_folders(tmp_path):
    _write_image(tmp_path / 'flat' / 'x.png')
    with pytest.raises(ValueError, match='no class folders.*no ann_file'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='flat')


def test_error_empty_class_folders_are_named(folder_tree):
    (folder_tree / 'train' / 'kiwi').mkdir()
    _touch(folder_tree / 'train' / 'lime' / 'readme.md')
    with pytest.raises(ValueError, match='2 class folder') as err:
        ImageNetDataset(data_root=str(folder_tree), data_prefix='train')
    assert "'kiwi'" in str(err.value) and "'lime'" in str(err.value)
    assert "'apple'" not in str(err.value)


def test_error_unknown_class_names(folder_tree):
    with pytest.raises(ValueError, match='no folder') as err:
        ImageNetDataset(data_root=str(folder_tree), data_prefix='train',
                        classes=['apple', 'durian', 'fig'])
    assert "'durian'" in str(err.value) and "'fig'" in str(err.value)
    with pytest.raises(ValueError, match='duplicate'):
        ImageNetDataset(data_root=str(folder_tree), data_prefix='train',
                        classes=['apple', 'apple'])


def test_error_ann_file_missing_images_are_named(tmp_path):
    _write_image(tmp_path / 'val' / 'ok.png')
    lines = ['ok.png 0'] + [f'gone_{i}.png 0' for i in range(7)]
    (tmp_path / 'val.txt').write_text('\n'.join(lines))
    with pytest.raises(FileNotFoundError, match='7 image') as err:
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                        ann_file='val.txt')
    assert 'gone_0.png' in str(err.value)
    assert '(and 2 more)' in str(err.value)


def test_error_ann_file_label_out_of_range(tmp_path):
    _write_image(tmp_path / 'val' / 'a.png')
    _write_image(tmp_path / 'val' / 'b.png')
    (tmp_path / 'val.txt').write_text('a.png 1\nb.png 5\n')
    with pytest.raises(ValueError, match=r'out of range \[0, 2\).*5'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                        ann_file='val.txt', classes=['x', 'y'])
    (tmp_path / 'neg.txt').write_text('a.png -1\n')
    with pytest.raises(ValueError, match='out of range'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                        ann_file='neg.txt')


def test_error_ann_file_malformed_or_missing(tmp_path):
    _write_image(tmp_path / 'val' / 'a.png')
    (tmp_path / 'bad.txt').write_text('a.png 0\na.png zero\n')
    with pytest.raises(ValueError, match=r'bad.txt:2: expected'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                        ann_file='bad.txt')
    with pytest.raises(FileNotFoundError, match='ann_file'):
        ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                        ann_file='nope.txt')


# ---------------------------------------------------------------------------
# Toy generator
# ---------------------------------------------------------------------------


def _tree_digest(root) -> dict:
    digests = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = osp.join(dirpath, name)
            with open(path, 'rb') as f:
                digests[osp.relpath(path, root)] = hashlib.md5(
                    f.read()).hexdigest()
    return digests


def test_toy_generator_layout_and_readback(tmp_path):
    summary = generate_toy_imagefolder(
        str(tmp_path), num_classes=3, train_per_class=4, val_per_class=2,
        size=32, seed=0)
    assert summary['classes'] == ['n00000000', 'n00000001', 'n00000002']
    assert sorted(os.listdir(tmp_path)) == ['meta', 'train', 'val']
    assert sorted(os.listdir(tmp_path / 'train')) == summary['classes']
    assert len(os.listdir(tmp_path / 'val' / 'n00000002')) == 2
    img = cv2.imread(str(tmp_path / 'train' / 'n00000001' /
                         'n00000001_0003.png'))
    assert img.shape == (32, 32, 3)

    train = ImageNetDataset(data_root=str(tmp_path), data_prefix='train')
    assert len(train) == summary['num_train'] == 12
    assert train.metainfo['classes'] == tuple(summary['classes'])
    assert sorted(train.get_cat_ids(i)[0]
                  for i in range(len(train))) == [0] * 4 + [1] * 4 + [2] * 4
    val = ImageNetDataset(data_root=str(tmp_path), data_prefix='val',
                          ann_file='meta/val.txt',
                          classes=summary['classes_file'])
    assert len(val) == summary['num_val'] == 6
    folder_val = ImageNetDataset(data_root=str(tmp_path), data_prefix='val')
    assert _labels_by_name(val) == _labels_by_name(folder_val)


def test_toy_generator_deterministic(tmp_path):
    kwargs = dict(num_classes=2, train_per_class=3, val_per_class=1, size=24)
    generate_toy_imagefolder(str(tmp_path / 'a'), seed=1, **kwargs)
    generate_toy_imagefolder(str(tmp_path / 'b'), seed=1, **kwargs)
    generate_toy_imagefolder(str(tmp_path / 'c'), seed=2, **kwargs)
    a, b, c = (_tree_digest(tmp_path / d) for d in 'abc')
    assert a == b
    assert a.keys() == c.keys() and a != c
    with pytest.raises(FileExistsError, match='overwrite'):
        generate_toy_imagefolder(str(tmp_path / 'a'), seed=1, **kwargs)
    generate_toy_imagefolder(str(tmp_path / 'a'), seed=2, overwrite=True,
                             **kwargs)
    assert _tree_digest(tmp_path / 'a') == c


def _colour_feature(path: str) -> np.ndarray:
    """Mean colour of the 3% most saturated pixels (mostly the shape)."""
    img = cv2.imread(path)
    sat = cv2.cvtColor(img, cv2.COLOR_BGR2HSV)[..., 1].ravel()
    top = np.argsort(sat)[-max(1, sat.size * 3 // 100):]
    return img.reshape(-1, 3)[top].astype(np.float64).mean(0)


def test_toy_classes_are_separable(tmp_path):
    # The classes must carry a signal a tiny model can pick up: even a
    # nearest-class-mean rule on one colour feature beats chance (25%) by far.
    generate_toy_imagefolder(str(tmp_path), num_classes=4, train_per_class=8,
                             val_per_class=6, size=32)
    splits = {}
    for split in ('train', 'val'):
        ds = ImageNetDataset(data_root=str(tmp_path), data_prefix=split)
        infos = [ds.get_data_info(i) for i in range(len(ds))]
        splits[split] = (np.stack([_colour_feature(i['img_path'])
                                   for i in infos]),
                         np.array([i['gt_label'] for i in infos]))
    feats, labels = splits['train']
    centroids = np.stack([feats[labels == c].mean(0) for c in range(4)])
    val_feats, val_labels = splits['val']
    dists = ((val_feats[:, None] - centroids[None]) ** 2).sum(-1)
    assert (dists.argmin(1) == val_labels).mean() >= 0.9


# ---------------------------------------------------------------------------
# A full pipeline built from configs through the registries.
# ---------------------------------------------------------------------------


def test_full_train_pipeline_from_configs(tmp_path):
    generate_toy_imagefolder(str(tmp_path), num_classes=2, train_per_class=3,
                             val_per_class=2, size=32)
    init_default_scope('mmseg')
    pipeline = [
        dict(type='LoadImageFromFile'),
        dict(type='RandomResizedCrop', scale=24),
        dict(type='RandomFlip', prob=0.5, direction='horizontal'),
        dict(type='AutoAugment', policies='imagenet'),
        dict(type='PackClsInputs'),
    ]
    dataset = DATASETS.build(
        dict(type='ImageNetDataset', data_root=str(tmp_path),
             data_prefix=dict(img_path='train'), pipeline=pipeline))
    assert isinstance(dataset, ImageNetDataset)
    names = [type(t).__name__ for t in dataset.pipeline.transforms]
    assert names == [c['type'] for c in pipeline]

    np.random.seed(0)
    items = [dataset[i] for i in range(len(dataset))]
    np.random.seed(0)
    again = [dataset[i] for i in range(len(dataset))]
    for item, twin in zip(items, again):
        assert item['inputs'].shape == (3, 24, 24)
        assert item['inputs'].dtype == torch.uint8
        assert torch.equal(item['inputs'], twin['inputs'])
        sample = item['data_samples']
        assert sample.gt_label.shape == (1, )
        assert sample.ori_shape == (32, 32) and sample.img_shape == (24, 24)
        assert 'flip' in sample.metainfo_keys()
        assert osp.isfile(sample.img_path)

    batch = pseudo_collate(items)
    labels = torch.cat([s.gt_label for s in batch['data_samples']])
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert torch.stack(batch['inputs']).shape == (6, 3, 24, 24)


def test_full_test_pipeline_from_configs(tmp_path):
    generate_toy_imagefolder(str(tmp_path), num_classes=2, train_per_class=1,
                             val_per_class=2, size=40)
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(type='ImageNetDataset', data_root=str(tmp_path),
             data_prefix='val', ann_file='meta/val.txt',
             classes=str(tmp_path / 'meta' / 'classes.txt'),
             test_mode=True,
             pipeline=[
                 dict(type='LoadImageFromFile'),
                 dict(type='ResizeEdge', scale=36, edge='short'),
                 dict(type='CenterCrop', crop_size=32),
                 dict(type='PackClsInputs'),
             ]))
    item = dataset[3]
    assert item['inputs'].shape == (3, 32, 32)
    assert item['data_samples'].gt_label.tolist() == [1]
    assert TRANSFORMS.get('ResizeEdge') is not None
