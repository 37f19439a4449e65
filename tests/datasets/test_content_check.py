"""The data check decodes as the pipeline does and knows which label values
each kind of dataset accepts."""
import numpy as np
import pytest
from PIL import Image

from repvgg_seg.datasets.checks import allowed_label_values
from repvgg_seg.datasets.content_check import (Decoders, DatasetContentError,
                                               raise_for_problems, scan_contents)


def write_pair(folder, labels, mode):
    image = folder / 'a.jpg'
    Image.fromarray(np.zeros((*labels.shape, 3), np.uint8)).save(image)
    label = folder / 'a.png'
    picture = Image.fromarray(labels)
    if mode == 'P':  # VOC-style: a palette whose colours are not the indices
        picture = picture.convert('P')
        picture.putpalette([128, 0, 0, 0, 128, 0] + [200] * 762)
    picture.save(label)
    return str(image), str(label)


def test_palette_label_maps_are_read_as_indices(tmp_path):
    labels = np.zeros((8, 12), np.uint8)
    labels[:, 6:] = 1
    pair = write_pair(tmp_path, labels, 'P')
    assert Image.open(pair[1]).mode == 'P'
    allowed = [0, 1, 255]
    report = scan_contents([pair], allowed, use_cache=False)
    assert report.ok, report
    # Decoded as colours (what cv2 gives) the same file looks broken.
    colours = scan_contents([pair], allowed, use_cache=False,
                            decoders=Decoders(label_backend='cv2'))
    assert colours.bad_values or colours.size_mismatch


def test_reduce_zero_label_accepts_the_extra_value():
    ade = type('Ade', (), dict(ignore_index=255, label_map=None,
                               reduce_zero_label=True,
                               metainfo=dict(classes=tuple('abc'))))()
    plain = type('Plain', (), dict(ignore_index=255, label_map=None,
                                   reduce_zero_label=False,
                                   metainfo=dict(classes=tuple('abc'))))()
    subset = type('Subset', (), dict(ignore_index=255, label_map={0: 255, 1: 0, 5: 1},
                                     reduce_zero_label=False,
                                     metainfo=dict(classes=tuple('ab'))))()
    assert allowed_label_values(ade) == [0, 1, 2, 3, 255]
    assert allowed_label_values(plain) == [0, 1, 2, 255]
    assert allowed_label_values(subset) == [0, 1, 5, 255]


def test_problems_are_reported_with_files_and_counts(tmp_path):
    labels = np.full((8, 12), 7, np.uint8)
    pair = write_pair(tmp_path, labels, 'L')
    report = scan_contents([pair], [0, 1, 2, 255], use_cache=False)
    assert report.bad_values == [f'{pair[1]}: values 7']
    with pytest.raises(DatasetContentError, match=r'allowed: 0\.\.2, 255'):
        raise_for_problems(report, 'val_dataloader', [0, 1, 2, 255])
