"""Tests of the batch-level Mixup and the one-hot / label-smoothing helper."""
import pytest
import torch

from repvgg_seg.models.classifiers.mixup import Mixup, one_hot

NUM_CLASSES = 10


def _batch(batch_size: int = 8, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.rand(batch_size, 3, 6, 5, generator=gen)
    labels = torch.randint(0, NUM_CLASSES, (batch_size, ), generator=gen)
    return inputs, labels


def test_one_hot_plain_and_smoothed():
    labels = torch.tensor([0, 3, 9])
    plain = one_hot(labels, NUM_CLASSES)
    assert plain.shape == (3, NUM_CLASSES) and plain.dtype == torch.float32
    assert torch.equal(plain.argmax(1), labels)
    assert torch.equal(plain.sum(1), torch.ones(3))

    smooth = one_hot(labels, NUM_CLASSES, label_smoothing=0.1)
    assert torch.allclose(smooth.sum(1), torch.ones(3), atol=1e-6)
    assert torch.allclose(smooth[0, 0], torch.tensor(0.9 + 0.01))
    assert torch.allclose(smooth[0, 1], torch.tensor(0.01))
    # A (B, 1) column of labels is accepted as well.
    assert torch.equal(one_hot(labels[:, None], NUM_CLASSES), plain)


@pytest.mark.parametrize('labels, error', [
    (torch.tensor([0, NUM_CLASSES]), ValueError),
    (torch.tensor([-1]), ValueError),
    (torch.tensor([0.0, 1.0]), TypeError),
    (torch.zeros(2, 2, dtype=torch.long), ValueError),
])
def test_one_hot_rejects_bad_labels(labels, error):
    with pytest.raises(error):
        one_hot(labels, NUM_CLASSES)


def test_mixup_shapes_and_rows_sum_to_one():
    inputs, labels = _batch()
    torch.manual_seed(0)
    mixed, targets = Mixup(alpha=0.2, num_classes=NUM_CLASSES)(inputs, labels)
    assert mixed.shape == inputs.shape and mixed.dtype == inputs.dtype
    assert targets.shape == (8, NUM_CLASSES)
    assert targets.dtype == inputs.dtype
    torch.testing.assert_close(
        targets.sum(1), torch.ones(8), rtol=0, atol=1e-6)
    assert (targets >= 0).all()


def test_mixup_is_exactly_the_convex_combination():
    inputs, labels = _batch()
    mixup = Mixup(alpha=1.0, num_classes=NUM_CLASSES)
    torch.manual_seed(3)
    lam, perm = mixup.sample_params(inputs.shape[0])
    torch.manual_seed(3)
    mixed, targets = mixup(inputs, labels)

    assert 0.0 <= lam <= 1.0
    assert sorted(perm.tolist()) == list(range(8))
    assert torch.equal(mixed, lam * inputs + (1 - lam) * inputs[perm])
    hard = one_hot(labels, NUM_CLASSES)
    assert torch.equal(targets, lam * hard + (1 - lam) * hard[perm])


def test_mixup_deterministic_per_seed():
    inputs, labels = _batch()
    mixup = Mixup(alpha=0.2, num_classes=NUM_CLASSES)
    runs = []
    for seed in (7, 7, 8):
        torch.manual_seed(seed)
        runs.append(mixup(inputs, labels))
    assert torch.equal(runs[0][0], runs[1][0])
    assert torch.equal(runs[0][1], runs[1][1])
    assert not torch.equal(runs[0][0], runs[2][0])


def test_mixup_accepts_soft_labels_and_smoothing():
    inputs, labels = _batch()
    soft = one_hot(labels, NUM_CLASSES, label_smoothing=0.2)
    mixup = Mixup(alpha=0.4, num_classes=NUM_CLASSES)
    torch.manual_seed(1)
    _, from_soft = mixup(inputs, soft)
    torch.manual_seed(1)
    _, from_smoothing = Mixup(0.4, NUM_CLASSES, label_smoothing=0.2)(inputs,
                                                                    labels)
    assert torch.equal(from_soft, from_smoothing)
    torch.testing.assert_close(
        from_soft.sum(1), torch.ones(8), rtol=0, atol=1e-6)


def test_mixup_keeps_float64():
    inputs, labels = _batch()
    mixed, targets = Mixup(num_classes=NUM_CLASSES)(inputs.double(), labels)
    assert mixed.dtype == targets.dtype == torch.float64


def test_mixup_rejects_bad_arguments():
    inputs, labels = _batch()
    mixup = Mixup(num_classes=NUM_CLASSES)
    with pytest.raises(TypeError, match='floating inputs'):
        mixup((inputs * 255).to(torch.uint8), labels)
    with pytest.raises(ValueError, match='labels for a batch'):
        mixup(inputs, labels[:3])
    with pytest.raises(ValueError, match='soft labels'):
        mixup(inputs, torch.rand(8, NUM_CLASSES + 1))
    with pytest.raises(ValueError, match='alpha'):
        Mixup(alpha=0.0)
    assert 'alpha=0.2' in repr(mixup)


def test_lambda_follows_beta_alpha_alpha():
    """Mean 1/2 and variance 1 / (4 (2 alpha + 1)) of Beta(alpha, alpha):
    0.179 at alpha 0.2, where a uniform draw gives 0.083 and a constant 0."""
    torch.manual_seed(0)
    mixup = Mixup(alpha=0.2, num_classes=NUM_CLASSES)
    lams = torch.tensor([mixup.sample_params(4)[0] for _ in range(4000)])
    assert ((lams >= 0) & (lams <= 1)).all()
    assert lams.mean().item() == pytest.approx(0.5, abs=0.02)
    assert lams.var().item() == pytest.approx(1 / (4 * (2 * 0.2 + 1)), abs=0.02)
