"""The classifier's loss, one-hot targets and data preprocessor against the
formulas they replaced (hand-written smoothing, one-hot and normalisation),
so that handing the work to torch and mmengine changes no number."""
import ast
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import BaseDataElement

import repvgg_seg  # noqa: F401  (registrations)
from repvgg_seg.models.classifiers import (ClsDataPreprocessor,
                                           LabelSmoothCrossEntropyLoss, Mixup,
                                           one_hot)

K = 7
MODELS_DIR = Path(__file__).resolve().parents[2] / 'repvgg_seg' / 'models'


def former_one_hot(labels, num_classes, eps=0.0, dtype=torch.float32):
    """The former ``one_hot``: fill with eps / K, scatter 1 - eps + eps / K."""
    off = eps / num_classes
    out = torch.full((labels.shape[0], num_classes), off, dtype=dtype)
    out.scatter_(1, labels.long().reshape(-1, 1), 1.0 - eps + off)
    return out


def former_loss(logits, target, eps, weight=1.0):
    """The former loss: ``-(q * log_softmax).sum(1).mean()`` in float32."""
    num_classes = logits.shape[1]
    if target.dtype.is_floating_point:
        q = target * (1.0 - eps) + eps / num_classes
    else:
        q = former_one_hot(target.reshape(-1), num_classes, eps)
    log_p = F.log_softmax(logits.float(), dim=1)
    return weight * -(q.to(log_p.dtype) * log_p).sum(dim=1).mean()


def fixed_batch(batch_size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(batch_size, K, generator=gen)
    labels = torch.randint(0, K, (batch_size, ), generator=gen)
    return logits, labels


@pytest.mark.parametrize('eps', [0.0, 0.1, 0.35])
@pytest.mark.parametrize('dtype', [torch.float32, torch.float64, torch.half])
def test_one_hot_equals_the_former_construction_exactly(eps, dtype):
    _, labels = fixed_batch()
    new = one_hot(labels, K, eps, dtype)
    assert new.dtype == dtype
    assert torch.equal(new, former_one_hot(labels, K, eps, dtype))
    assert one_hot(labels[:0], K, eps).shape == (0, K)


@pytest.mark.parametrize('eps', [0.0, 0.1, 0.5])
def test_loss_on_labels_equals_the_former_formula(eps):
    logits, labels = fixed_batch()
    loss = LabelSmoothCrossEntropyLoss(label_smoothing=eps, loss_weight=0.7)
    expected = former_loss(logits, labels, eps, 0.7)
    torch.testing.assert_close(loss(logits, labels), expected, rtol=0,
                               atol=1e-6)
    # A (B, 1) column of labels, int32 labels and half logits as before.
    torch.testing.assert_close(loss(logits, labels[:, None]), expected,
                               rtol=0, atol=1e-6)
    torch.testing.assert_close(loss(logits, labels.int()), expected, rtol=0,
                               atol=1e-6)
    half = logits.half()
    out = loss(half, labels)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, former_loss(half, labels, eps, 0.7),
                               rtol=0, atol=1e-6)


@pytest.mark.parametrize('eps', [0.0, 0.1, 0.5])
def test_loss_on_mixup_targets_equals_the_former_formula(eps):
    """torch smooths probability targets as ``(1 - eps) * t + eps / K``, as
    the former code did, and averages over the batch."""
    logits, labels = fixed_batch()
    torch.manual_seed(5)
    _, targets = Mixup(alpha=0.4, num_classes=K)(torch.rand(16, 3, 2, 2),
                                                 labels)
    assert ((targets > 0).sum(1) == 2).any()  # really soft rows
    loss = LabelSmoothCrossEntropyLoss(label_smoothing=eps)
    torch.testing.assert_close(loss(logits, targets),
                               former_loss(logits, targets, eps), rtol=0,
                               atol=1e-6)
    # float64 targets are used in float32, as before.
    out = loss(logits, targets.double())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, former_loss(logits, targets, eps),
                               rtol=0, atol=1e-6)


def test_loss_rejects_bad_targets_with_a_message():
    logits, labels = fixed_batch(batch_size=4)
    loss = LabelSmoothCrossEntropyLoss(label_smoothing=0.1)
    with pytest.raises(ValueError, match=r'in \[0, 7\)'):
        loss(logits, torch.tensor([0, 1, 2, K]))
    with pytest.raises(ValueError, match=r'in \[0, 7\)'):
        loss(logits, torch.tensor([0, -1, 2, 3]))
    with pytest.raises(TypeError, match='integer'):
        loss(logits, torch.ones(4, dtype=torch.bool))
    with pytest.raises(ValueError, match='soft targets'):
        loss(logits, torch.rand(4, K + 1))
    with pytest.raises(ValueError, match='targets for a batch'):
        loss(logits, labels[:3])
    with pytest.raises(ValueError, match='logits'):
        loss(logits[0], labels)
    with pytest.raises(ValueError, match='label_smoothing'):
        LabelSmoothCrossEntropyLoss(label_smoothing=1.0)


def _uint8_images(batch_size=3, channels=3, size=5, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randint(0, 256, (channels, size, size), dtype=torch.uint8,
                          generator=gen) for _ in range(batch_size)]


def test_preprocessor_is_mmengine_s_and_matches_hand_normalisation():
    pre = ClsDataPreprocessor(mean=[1, 2, 3], std=[4, 5, 6], to_rgb=True)
    assert isinstance(pre, ImgDataPreprocessor)
    assert pre.to_rgb and pre.mean.dtype == pre.std.dtype == torch.float32
    # Statistics are config, not checkpoint state.
    assert 'mean' not in pre.state_dict() and 'std' not in pre.state_dict()
    images = _uint8_images()
    mean = torch.tensor([1., 2., 3.]).view(1, 3, 1, 1)
    std = torch.tensor([4., 5., 6.]).view(1, 3, 1, 1)
    expected = (torch.stack(images).flip(1).float() - mean) / std
    out = pre(dict(inputs=images))
    assert out['data_samples'] is None
    assert torch.equal(out['inputs'], expected)
    # A collated (B, C, H, W) tensor gives the same batch.
    assert torch.equal(pre(dict(inputs=torch.stack(images)))['inputs'],
                       expected)


def test_preprocessor_without_statistics_or_flip_only_casts():
    images = _uint8_images(channels=4)
    out = ClsDataPreprocessor()(dict(inputs=images))['inputs']
    assert torch.equal(out, torch.stack(images).float())
    grey = _uint8_images(channels=1)
    out = ClsDataPreprocessor(mean=[100.], std=[50.])(dict(inputs=grey))
    torch.testing.assert_close(out['inputs'],
                               (torch.stack(grey).float() - 100.) / 50.,
                               rtol=0, atol=0)


def test_preprocessor_refuses_what_mmengine_would_pad_or_broadcast():
    pre = ClsDataPreprocessor(mean=[1., 2., 3.], std=[4., 5., 6.],
                              to_rgb=True)
    with pytest.raises(ValueError, match='empty batch'):
        pre(dict(inputs=[]))
    with pytest.raises(ValueError, match=r'\(B, C, H, W\)'):
        pre(dict(inputs=torch.zeros(3, 4, 4)))
    with pytest.raises(ValueError, match=r'\(C, H, W\)'):
        pre(dict(inputs=[torch.zeros(4, 4)]))
    with pytest.raises(ValueError, match='to_rgb needs 3-channel'):
        pre(dict(inputs=_uint8_images(channels=1)))
    with pytest.raises(ValueError, match='to_rgb needs 3-channel'):
        pre(dict(inputs=torch.zeros(2, 4, 3, 3)))
    grey_stats = ClsDataPreprocessor(mean=[1.], std=[2.])
    with pytest.raises(ValueError, match='1 values but the images have 3'):
        grey_stats(dict(inputs=_uint8_images()))
    with pytest.raises(ValueError, match='together'):
        ClsDataPreprocessor(std=[1., 1., 1.])
    with pytest.raises(ValueError, match='differ in length'):
        ClsDataPreprocessor(mean=[1., 2., 3.], std=[1.])
    with pytest.raises(ValueError, match='1 \\(grey\\) or 3'):
        ClsDataPreprocessor(mean=[0.] * 4, std=[1.] * 4)
    with pytest.raises(ValueError, match='num_classes'):
        ClsDataPreprocessor(mixup=dict(alpha=0.2))


def test_preprocessor_mixup_targets_are_the_mixed_one_hots():
    pre = ClsDataPreprocessor(mean=[1., 2., 3.], std=[4., 5., 6.],
                              num_classes=K, mixup=dict(alpha=0.3))
    images = _uint8_images(batch_size=5)
    labels = torch.tensor([0, 3, 6, 3, 1])

    def samples():
        return [BaseDataElement(gt_label=label.reshape(1)) for label in labels]

    plain = pre(dict(inputs=images, data_samples=samples()))['inputs']
    torch.manual_seed(11)
    lam, perm = pre.mixup.sample_params(5)
    torch.manual_seed(11)
    out = pre(dict(inputs=images, data_samples=samples()), training=True)
    assert torch.equal(out['inputs'], lam * plain + (1 - lam) * plain[perm])
    hard = F.one_hot(labels, K).float()
    assert torch.equal(torch.stack([s.gt_score for s in out['data_samples']]),
                       lam * hard + (1 - lam) * hard[perm])
    with pytest.raises(ValueError, match='gt_label'):
        pre(dict(inputs=images, data_samples=[BaseDataElement()] * 5),
            training=True)


def _imported_modules(path: Path):
    package = '.'.join(path.relative_to(MODELS_DIR.parent.parent).with_suffix(
        '').parts[:-1])
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split('.')
                base = base[:len(base) - node.level + 1]
                yield '.'.join(base + ([node.module] if node.module else []))
            else:
                yield node.module


def test_models_do_not_import_datasets():
    """Imports point down: the model code (mixup included) needs no dataset
    code, so a model can be built without the data stack."""
    files = sorted(MODELS_DIR.rglob('*.py'))
    assert MODELS_DIR / 'classifiers' / 'mixup.py' in files
    offenders = [(str(f.relative_to(MODELS_DIR)), name) for f in files
                 for name in _imported_modules(f)
                 if name.startswith('repvgg_seg.datasets')]
    assert offenders == []
