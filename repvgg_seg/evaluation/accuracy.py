"""Top-k classification accuracy as an MMEngine metric."""
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine.evaluator import BaseMetric
from mmseg.registry import METRICS


def _as_tensor(value, what: str) -> torch.Tensor:
    if value is None:
        raise KeyError(f'Accuracy needs {what} in every prediction')
    return torch.as_tensor(value).detach().cpu()


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy (in percent) of ``pred_score`` against ``gt_label``.

    Per image only whether the label is among the top ``k`` scores is kept
    (not the score vector), so a 50,000-image ImageNet validation stays small
    to collect across processes. Ties are broken as :func:`torch.topk` does.
    With fewer than ``k`` classes, top-``k`` is over all classes (100%).

    Results are named ``<prefix>/top<k>``, e.g. ``accuracy/top1``; use that
    as ``CheckpointHook``'s ``save_best``.

    Args:
        topk (int | Sequence[int]): The ``k`` values. Default: (1, 5).
        collect_device (str): 'cpu' or 'gpu', for gathering results across
            processes. Default: 'cpu'.
        prefix (str, optional): Prefix of the metric names. Default:
            'accuracy'.
    """

    default_prefix: Optional[str] = 'accuracy'

    def __init__(self,
                 topk: Union[int, Sequence[int]] = (1, 5),
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        topk = (topk, ) if isinstance(topk, int) else tuple(topk)
        if not topk or any(not isinstance(k, int) or k < 1 for k in topk):
            raise ValueError(f'topk must be positive ints, got {topk!r}')
        self.topk = topk

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Record, for each prediction, whether it is correct at each ``k``.

        Args:
            data_batch: The batch from the dataloader (unused).
            data_samples (Sequence[dict]): Model outputs as dicts (the
                evaluator converts data elements) with ``pred_score``
                ``(K,)`` and ``gt_label`` (int, shape ``()`` or ``(1,)``).
        """
        for sample in data_samples:
            score = _as_tensor(sample.get('pred_score'), 'pred_score')
            label = _as_tensor(sample.get('gt_label'), 'gt_label').reshape(-1)
            if score.dim() != 1 or label.numel() != 1:
                raise ValueError(
                    'Accuracy expects pred_score of shape (K,) and one label '
                    f'per image, got {tuple(score.shape)} and '
                    f'{tuple(label.shape)}')
            ranked = score.topk(min(max(self.topk), score.numel())).indices
            hit = (ranked == label).tolist()
            # hit[i] is True for at most one i: the label's rank.
            self.results.append(
                tuple(any(hit[:k]) for k in self.topk))

    def compute_metrics(self, results: List[tuple]) -> Dict[str, float]:
        """Top-k accuracies in percent.

        Args:
            results (list[tuple]): One tuple of hits per image, in ``topk``
                order.

        Returns:
            dict[str, float]: ``top<k>`` for every ``k``.
        """
        if not results:
            raise ValueError('Accuracy got no predictions')
        hits = torch.tensor(results, dtype=torch.float64)
        return {
            f'top{k}': float(hits[:, i].mean() * 100)
            for i, k in enumerate(self.topk)
        }
