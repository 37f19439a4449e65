"""ImageClassifier, its head, loss and data preprocessor, and deployment."""
import pytest
import torch
import torch.nn.functional as F
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS

import repvgg_seg  # noqa: F401  (registrations)
from repvgg_seg.models.classifiers import (ClsDataPreprocessor,
                                           ImageClassifier,
                                           LabelSmoothCrossEntropyLoss)

NUM_CLASSES = 5
TINY_ARCH = dict(num_blocks=(1, 2, 2, 2, 1), widths=(8, 16, 16, 32, 48),
                 groups=2)


def build_classifier(**preprocessor) -> ImageClassifier:
    return MODELS.build(
        dict(
            type='ImageClassifier',
            data_preprocessor=dict(
                type='ClsDataPreprocessor', mean=[10., 20., 30.],
                std=[2., 4., 8.], to_rgb=True, **preprocessor),
            backbone=dict(type='RepVGG', arch=TINY_ARCH),
            head=dict(type='LinearClsHead', num_classes=NUM_CLASSES)))


def packed_batch(batch_size=6, size=16, seed=0):
    gen = torch.Generator().manual_seed(seed)
    inputs = [torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                            generator=gen) for _ in range(batch_size)]
    labels = torch.randint(0, NUM_CLASSES, (batch_size, ), generator=gen)
    samples = [BaseDataElement(gt_label=label.reshape(1),
                               metainfo=dict(img_path=f'{i}.png'))
               for i, label in enumerate(labels)]
    return dict(inputs=inputs, data_samples=samples), labels


def test_registered_names_build_our_classes():
    assert MODELS.get('ImageClassifier') is ImageClassifier
    assert MODELS.get('ClsDataPreprocessor') is ClsDataPreprocessor
    model = build_classifier()
    # Attribute names the checkpoint layout relies on.
    assert isinstance(model.head.fc, torch.nn.Linear)
    assert model.head.fc.in_features == 48  # taken from the backbone
    keys = model.state_dict().keys()
    assert {'head.fc.weight', 'head.fc.bias'} <= set(keys)
    assert all(k.startswith(('backbone.stage', 'head.fc.')) for k in keys)


def test_head_in_channels_must_match_the_backbone():
    with pytest.raises(ValueError, match='in_channels=64'):
        MODELS.build(dict(type='ImageClassifier',
                          backbone=dict(type='RepVGG', arch=TINY_ARCH),
                          head=dict(type='LinearClsHead', num_classes=3,
                                    in_channels=64)))


def test_preprocessor_flips_to_rgb_normalises_and_stacks():
    model = build_classifier()
    data, _ = packed_batch(batch_size=2, size=4)
    out = model.data_preprocessor(data, training=False)
    img = data['inputs'][1].float()
    expected = (img.flip(0) - torch.tensor([10., 20., 30.]).view(3, 1, 1)) \
        / torch.tensor([2., 4., 8.]).view(3, 1, 1)
    assert out['inputs'].shape == (2, 3, 4, 4)
    assert out['inputs'].dtype == torch.float32
    torch.testing.assert_close(out['inputs'][1], expected)
    assert all('gt_score' not in s for s in out['data_samples'])


def test_preprocessor_refuses_images_of_different_sizes():
    model = build_classifier()
    data = dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8),
                        torch.zeros(3, 4, 5, dtype=torch.uint8)])
    with pytest.raises(ValueError, match='differ in shape'):
        model.data_preprocessor(data)


def test_mixup_runs_in_training_only_and_gives_soft_targets():
    model = build_classifier(mixup=dict(alpha=1.0))
    # num_classes was filled in from the head.
    assert model.data_preprocessor.mixup.num_classes == NUM_CLASSES

    data, labels = packed_batch()
    plain = model.data_preprocessor(data, training=False)['inputs']
    assert all('gt_score' not in s for s in data['data_samples'])

    torch.manual_seed(7)
    first = model.data_preprocessor(packed_batch()[0], training=True)
    targets = torch.stack([s.gt_score for s in first['data_samples']])
    assert targets.shape == (6, NUM_CLASSES)
    torch.testing.assert_close(targets.sum(1), torch.ones(6), rtol=0,
                               atol=1e-6)
    assert (targets >= 0).all()
    assert not torch.equal(first['inputs'], plain)
    # A row mixes two one-hot targets: at most two classes are non-zero.
    assert ((targets > 0).sum(1) <= 2).all()
    assert (targets[torch.arange(6), labels] > 0).all()

    # The same seed gives the same mixed batch and targets.
    torch.manual_seed(7)
    again = model.data_preprocessor(packed_batch()[0], training=True)
    assert torch.equal(again['inputs'], first['inputs'])
    assert torch.equal(
        torch.stack([s.gt_score for s in again['data_samples']]), targets)


def test_mixup_is_the_convex_combination_of_the_normalised_batch():
    model = build_classifier(mixup=dict(alpha=0.4))
    data, labels = packed_batch()
    plain = model.data_preprocessor(packed_batch()[0])['inputs']
    torch.manual_seed(3)
    lam, perm = model.data_preprocessor.mixup.sample_params(6)
    torch.manual_seed(3)
    mixed = model.data_preprocessor(data, training=True)
    torch.testing.assert_close(mixed['inputs'],
                               lam * plain + (1 - lam) * plain[perm])
    onehot = F.one_hot(labels, NUM_CLASSES).float()
    torch.testing.assert_close(
        torch.stack([s.gt_score for s in mixed['data_samples']]),
        lam * onehot + (1 - lam) * onehot[perm])


def test_mixup_refuses_its_own_label_smoothing():
    with pytest.raises(ValueError, match='loss'):
        ClsDataPreprocessor(num_classes=3,
                            mixup=dict(alpha=0.2, label_smoothing=0.1))


def test_label_smoothing_loss_hard_and_soft_targets():
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(8, NUM_CLASSES, generator=gen)
    labels = torch.randint(0, NUM_CLASSES, (8, ), generator=gen)
    loss = LabelSmoothCrossEntropyLoss(label_smoothing=0.1)
    torch.testing.assert_close(
        loss(logits, labels),
        F.cross_entropy(logits, labels, label_smoothing=0.1))
    # One-hot soft targets are the same as the labels.
    onehot = F.one_hot(labels, NUM_CLASSES).float()
    torch.testing.assert_close(loss(logits, onehot), loss(logits, labels))
    # Soft targets: smoothing a mix equals mixing the smoothed targets.
    other = labels.roll(1)
    lam = 0.3
    mixed = lam * onehot + (1 - lam) * F.one_hot(other, NUM_CLASSES).float()
    expected = (lam * F.cross_entropy(logits, labels, label_smoothing=0.1) +
                (1 - lam) * F.cross_entropy(logits, other,
                                            label_smoothing=0.1))
    torch.testing.assert_close(loss(logits, mixed), expected)
    assert LabelSmoothCrossEntropyLoss()(logits, labels).item() == \
        pytest.approx(F.cross_entropy(logits, labels).item(), rel=1e-6)


def test_forward_modes():
    model = build_classifier(mixup=dict(alpha=0.2))
    data, labels = packed_batch()

    batch = model.data_preprocessor(data, training=True)
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss'} and losses['loss'].requires_grad
    losses['loss'].backward()
    assert model.head.fc.weight.grad is not None

    model.eval()
    batch = model.data_preprocessor(packed_batch()[0])
    logits = model(batch['inputs'], mode='tensor')
    assert logits.shape == (6, NUM_CLASSES)
    preds = model(**batch, mode='predict')
    assert len(preds) == 6
    for pred, row, label in zip(preds, logits, labels):
        torch.testing.assert_close(pred.pred_score, row.softmax(0))
        assert pred.pred_label.shape == (1, )
        assert pred.pred_label.dtype == torch.int64
        assert pred.pred_label.item() == row.argmax().item()
        assert pred.gt_label.item() == label.item()
        assert pred.img_path.endswith('.png')
    # Without data samples predict makes its own.
    assert len(model(batch['inputs'], mode='predict')) == 6
    with pytest.raises(RuntimeError, match='Invalid mode'):
        model(batch['inputs'], mode='bogus')


def test_val_step_and_train_step_through_the_preprocessor():
    model = build_classifier(mixup=dict(alpha=0.2))
    from mmengine.optim import OptimWrapper
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01))
    log_vars = model.train_step(packed_batch()[0], wrapper)
    assert 'loss' in log_vars
    preds = model.val_step(packed_batch()[0])
    assert len(preds) == 6 and 'pred_score' in preds[0]


def test_deployed_classifier_gives_the_same_logits():
    torch.manual_seed(0)
    model = build_classifier()
    # Non-trivial BN statistics and affine parameters.
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    model.eval()
    batch = model.data_preprocessor(packed_batch(size=32)[0])
    with torch.no_grad():
        before = model(batch['inputs'])
        assert model.switch_to_deploy() is model
        assert model.backbone.deploy
        assert not any(isinstance(m, torch.nn.BatchNorm2d)
                       for m in model.modules())
        after = model(batch['inputs'])
    rel = (after - before).abs().max() / before.abs().max()
    assert rel <= 1e-5, rel
