"""The top-k Accuracy metric."""
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import BaseDataElement
from mmseg.registry import METRICS

import repvgg_seg  # noqa: F401  (registrations)
from repvgg_seg.evaluation import Accuracy


def sample(scores, label):
    return BaseDataElement(pred_score=torch.tensor(scores),
                           gt_label=torch.tensor([label]))


# Label ranks: 1st, 2nd, 3rd, 4th (of 4 classes).
SAMPLES = [
    ([0.7, 0.1, 0.1, 0.1], 0),
    ([0.4, 0.3, 0.2, 0.1], 1),
    ([0.1, 0.2, 0.3, 0.4], 1),
    ([0.4, 0.3, 0.2, 0.1], 3),
]


def test_registered_in_mmseg_metrics():
    assert METRICS.get('Accuracy') is Accuracy


def test_topk_through_the_evaluator():
    evaluator = Evaluator(dict(type='Accuracy', topk=(1, 2, 3)))
    evaluator.process([sample(*s) for s in SAMPLES[:2]])
    evaluator.process([sample(*s) for s in SAMPLES[2:]])
    metrics = evaluator.evaluate(len(SAMPLES))
    assert metrics == {'accuracy/top1': 25.0, 'accuracy/top2': 50.0,
                       'accuracy/top3': 75.0}


def test_k_beyond_the_number_of_classes_counts_all_classes():
    metric = Accuracy(topk=(1, 5), prefix='acc')
    metric.process(None, [sample(*s).to_dict() for s in SAMPLES])
    assert metric.evaluate(len(SAMPLES)) == {'acc/top1': 25.0,
                                             'acc/top5': 100.0}


def test_matches_a_reference_on_random_scores():
    gen = torch.Generator().manual_seed(0)
    scores = torch.rand(200, 10, generator=gen)
    labels = torch.randint(0, 10, (200, ), generator=gen)
    metric = Accuracy(topk=(1, 5))
    metric.process(None, [dict(pred_score=s, gt_label=l.reshape(1))
                          for s, l in zip(scores, labels)])
    result = metric.evaluate(200)
    top5 = scores.topk(5, dim=1).indices
    assert result['accuracy/top1'] == pytest.approx(
        (scores.argmax(1) == labels).double().mean().item() * 100)
    assert result['accuracy/top5'] == pytest.approx(
        (top5 == labels[:, None]).any(1).double().mean().item() * 100)


@pytest.mark.parametrize('topk', [0, (), (1, -5), (1.5, )])
def test_rejects_bad_topk(topk):
    with pytest.raises(ValueError):
        Accuracy(topk=topk)


def test_needs_scores():
    metric = Accuracy()
    with pytest.raises(KeyError, match='pred_score'):
        metric.process(None, [dict(gt_label=torch.tensor([0]))])
