"""An image classifier for MMEngine's runner: backbone -> head."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from mmseg.registry import MODELS
from torch import Tensor

from repvgg_seg.deploy import switch_to_deploy
from .data_preprocessor import ClsDataPreprocessor

ForwardResults = Union[Dict[str, Tensor], List[BaseDataElement], Tensor]


def _is_cls_preprocessor(type_: Union[str, type]) -> bool:
    cls = type_ if isinstance(type_, type) else MODELS.get(type_)
    return isinstance(cls, type) and issubclass(cls, ClsDataPreprocessor)


@MODELS.register_module()
class ImageClassifier(BaseModel):
    """Backbone (e.g. RepVGG) followed by a classification head (GAP + fc).

    The submodules are named ``backbone`` and ``head``, so the state dict is
    ``backbone.<RepVGG keys>`` + ``head.fc.{weight,bias}``: the layout that
    ``tools/convert_checkpoint.py`` writes and that a segmentation backbone
    loads with ``init_cfg=dict(type='Pretrained', checkpoint=CKPT,
    prefix='backbone.')``.

    ``forward`` follows MMEngine's three modes: ``'tensor'`` gives logits,
    ``'loss'`` a dict of losses, ``'predict'`` data samples with
    ``pred_score`` and ``pred_label``.

    Args:
        backbone (dict): Backbone config; its last output feeds the head.
        head (dict): Head config. ``in_channels`` may be left out: it is then
            taken from the backbone's ``out_channels``.
        data_preprocessor (dict, optional): Default: a
            :class:`ClsDataPreprocessor` without normalisation. Its
            ``num_classes`` (used by mixup) defaults to the head's.
        init_cfg (dict | list[dict], optional): mmengine init config.
    """

    def __init__(self,
                 backbone: Dict,
                 head: Dict,
                 data_preprocessor: Optional[Dict] = None,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        data_preprocessor = copy.deepcopy(
            dict(data_preprocessor or dict(type='ClsDataPreprocessor')))
        data_preprocessor.setdefault('type', 'ClsDataPreprocessor')
        if 'num_classes' in head and _is_cls_preprocessor(
                data_preprocessor['type']):
            data_preprocessor.setdefault('num_classes', head['num_classes'])
        # Built here with mmseg's registry: BaseModel would use mmengine's,
        # which finds ours only under default_scope='mmseg'.
        super().__init__(data_preprocessor=MODELS.build(data_preprocessor),
                         init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        head = copy.deepcopy(dict(head))
        out_channels = getattr(self.backbone, 'out_channels', None)
        if out_channels is not None:
            last = tuple(out_channels)[-1]
            if head.setdefault('in_channels', last) != last:
                raise ValueError(
                    f'head in_channels={head["in_channels"]} but the '
                    f'backbone\'s last output has {last} channels')
        self.head = MODELS.build(head)

    def extract_feat(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        """The backbone's outputs for a normalised ``(B, C, H, W)`` batch."""
        feats = self.backbone(inputs)
        return feats if isinstance(feats, (tuple, list)) else (feats, )

    def forward(self,
                inputs: Tensor,
                data_samples: Optional[Sequence[BaseDataElement]] = None,
                mode: str = 'tensor') -> ForwardResults:
        """Run the classifier in one of MMEngine's modes.

        Args:
            inputs (Tensor): ``(B, C, H, W)`` batch from the data
                preprocessor.
            data_samples (Sequence[BaseDataElement], optional): The batch's
                samples; required for ``'loss'``.
            mode (str): ``'tensor'`` (logits ``(B, K)``), ``'loss'`` (dict
                of losses) or ``'predict'`` (data samples with
                ``pred_score``/``pred_label``).

        Returns:
            Tensor | dict | list: Depends on ``mode``.
        """
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.head.predict(self.extract_feat(inputs), data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "tensor", "loss" or '
                           '"predict"')

    def switch_to_deploy(self) -> 'ImageClassifier':
        """Re-parameterize every RepVGG block (and any conv+BN pair) in place;
        see :func:`repvgg_seg.switch_to_deploy`."""
        return switch_to_deploy(self)
