"""RepVGG backbone (Ding et al., "RepVGG: Making VGG-style ConvNets Great Again")."""
import copy
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.model import BaseModule
from mmseg.registry import MODELS
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from repvgg_seg.archs import ARCH_SETTINGS, paper_groups
from repvgg_seg.checkpoint import load_repvgg_pretrained
from ..layers import QARepVGGBlock, RepVGGBlock

PerLayer = Union[int, Sequence[int]]

BLOCKS = {'repvgg': RepVGGBlock, 'qarepvgg': QARepVGGBlock}


def _per_layer(value: PerLayer, num_layers: int, what: str,
               stage: int) -> Tuple[int, ...]:
    """Expand an int to one value per layer, or check a per-layer sequence;
    every value must be a positive int."""
    values = (value, ) * num_layers if isinstance(value, int) else tuple(value)
    if len(values) != num_layers or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise ValueError(
            f'{what}[{stage}] must be an int or a sequence of {num_layers} ints '
            f'(stage {stage} has {num_layers} layers), got {value!r}')
    if min(values) < 1:
        raise ValueError(f'{what}[{stage}] must be positive (1 = no '
                         f'{what[:-1]}), got {value!r}')
    return values


def _resolve_arch(arch: Union[str, Dict]) -> Dict:
    if isinstance(arch, str):
        if arch not in ARCH_SETTINGS:
            raise KeyError(f'Unknown RepVGG arch {arch!r}; choose one of '
                           f'{", ".join(ARCH_SETTINGS)} or pass a dict with '
                           'num_blocks, widths and (optionally) groups.')
        return copy.deepcopy(ARCH_SETTINGS[arch])
    if not isinstance(arch, dict):
        raise TypeError(f'arch must be a name or a dict, got {type(arch).__name__}')
    unknown = set(arch) - {'num_blocks', 'widths', 'groups'}
    missing = {'num_blocks', 'widths'} - set(arch)
    if unknown or missing:
        raise KeyError(
            f'A custom RepVGG arch dict takes num_blocks (5 layer counts), widths '
            f'(5 channel counts) and optional groups; missing {sorted(missing)}, '
            f'unknown {sorted(unknown)}')
    if len(arch['num_blocks']) != 5 or len(arch['widths']) != 5:
        raise ValueError('num_blocks and widths need 5 entries each (stage 0 is '
                         f'the stem), got {arch["num_blocks"]} and {arch["widths"]}')
    return dict(num_blocks=tuple(arch['num_blocks']), widths=tuple(arch['widths']),
                groups=arch.get('groups', 1))


@MODELS.register_module()
class RepVGG(BaseModule):
    """RepVGG backbone: five stages of RepVGG blocks.

    Stage 0 is the single-layer stem; stages 1-4 have the paper's widths
    ``64a, 128a, 256a, 512b``. Each stage's first layer takes the stage's
    stride. For output stride 8 segmentation use ``strides=(2, 2, 2, 1, 1)``
    with ``dilations=(1, 1, 1, 2, 4)``, or the paper's "-fast" form with a
    per-layer list for stage 3, e.g. ``(1,) * 12 + (2,) * 4`` for B-family.

    Args:
        arch (str | dict): A paper name (``A0 A1 A2 B0 B1 B1g2 B1g4 B2 B2g2
            B2g4 B3 B3g2 B3g4``) or a dict with ``num_blocks`` (5 layer counts),
            ``widths`` (5 channel counts) and optional ``groups``: an int
            applied in the paper's pattern, or 5 entries, each an int for the
            stage or one int per layer. Default: 'B1g2'.
        in_channels (int): Input image channels. Default: 3.
        strides (Sequence[int | Sequence[int]]): Per stage, the stride of its
            first layer, or one stride per layer. Default: ``(2,) * 5``.
        dilations (Sequence[int | Sequence[int]]): Per stage, one dilation for
            every 3x3 conv of the stage, or one per layer. Default: ``(1,) * 5``.
        out_indices (Sequence[int]): Stages whose outputs ``forward`` returns.
            Default: ``(4, )``.
        block (str): ``'repvgg'`` (:class:`RepVGGBlock`, the paper's) or
            ``'qarepvgg'`` (:class:`QARepVGGBlock`: BN only on the 3x3 branch
            and after the sum, for INT8 deployment). Both deploy to the same
            plain form. Default: 'repvgg'.
        deploy (bool): Build the fused plain form (3x3 conv + bias + ReLU per
            layer). Default: False.
        norm_cfg (dict): BatchNorm config (BN or SyncBN).
            Default: ``dict(type='BN', requires_grad=True)``.
        act_cfg (dict): Activation config. Default: ``dict(type='ReLU')``.
        norm_eval (bool): Keep BN layers in eval mode (frozen statistics) while
            training. Default: False.
        frozen_stages (int): Freeze stages ``0..frozen_stages`` (weights and BN
            statistics); -1 freezes nothing. Default: -1.
        with_cp (bool): Activation checkpointing in every block. Default: False.
        init_cfg (dict | list[dict], optional): mmengine init config.
            ``dict(type='Pretrained', checkpoint=PATH, prefix=None)`` loads
            ImageNet weights in the authors', timm, mmpretrain or this project's
            layout, training or deploy form (see
            :func:`repvgg_seg.checkpoint.load_repvgg_pretrained`).
    """

    num_stages = 5

    def __init__(self,
                 arch: Union[str, Dict] = 'B1g2',
                 in_channels: int = 3,
                 strides: Sequence[PerLayer] = (2, 2, 2, 2, 2),
                 dilations: Sequence[PerLayer] = (1, 1, 1, 1, 1),
                 out_indices: Sequence[int] = (4, ),
                 block: str = 'repvgg',
                 deploy: bool = False,
                 norm_cfg: Dict = dict(type='BN', requires_grad=True),
                 act_cfg: Dict = dict(type='ReLU'),
                 norm_eval: bool = False,
                 frozen_stages: int = -1,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        super().__init__(init_cfg)
        self.arch_name = arch if isinstance(arch, str) else 'custom'
        self.arch = _resolve_arch(arch)
        num_blocks = self.arch['num_blocks']
        widths = self.arch['widths']

        for what, value in (('strides', strides), ('dilations', dilations)):
            if len(value) != self.num_stages:
                raise ValueError(f'{what} needs {self.num_stages} entries (one per '
                                 f'stage, stage 0 is the stem), got {value!r}')
        out_indices = tuple(out_indices)
        if not out_indices or any(i not in range(self.num_stages)
                                  for i in out_indices):
            raise ValueError(f'out_indices must be stage indices in 0..4, '
                             f'got {out_indices!r}')
        if frozen_stages not in range(-1, self.num_stages):
            raise ValueError(f'frozen_stages must be in -1..4, got {frozen_stages}')

        if block not in BLOCKS:
            raise ValueError(f'block must be one of {", ".join(BLOCKS)}, got '
                             f'{block!r}')
        self.block = block
        block_cls = BLOCKS[block]
        groups = self.arch['groups']
        if isinstance(groups, int):
            groups = paper_groups(num_blocks, groups)
        elif len(groups) != self.num_stages:
            raise ValueError(f'arch groups needs {self.num_stages} entries, got '
                             f'{groups!r}')

        self.layer_strides = [
            self._first_layer_stride(s, num_blocks[i], i)
            for i, s in enumerate(strides)
        ]
        self.layer_dilations = [
            _per_layer(d, num_blocks[i], 'dilations', i)
            for i, d in enumerate(dilations)
        ]
        self.layer_groups = [
            _per_layer(g, num_blocks[i], 'groups', i) for i, g in enumerate(groups)
        ]
        self.out_indices = out_indices
        self.norm_eval = norm_eval
        self.frozen_stages = frozen_stages
        self.norm_cfg = norm_cfg

        self.stage_names = []
        channels = in_channels
        for i in range(self.num_stages):
            blocks = []
            for j in range(num_blocks[i]):
                blocks.append(
                    block_cls(
                        channels, widths[i], stride=self.layer_strides[i][j],
                        dilation=self.layer_dilations[i][j],
                        groups=self.layer_groups[i][j], deploy=deploy,
                        norm_cfg=norm_cfg, act_cfg=act_cfg, with_cp=with_cp))
                channels = widths[i]
            name = f'stage{i}'
            self.add_module(name, nn.Sequential(*blocks))
            self.stage_names.append(name)
        self.out_channels = tuple(widths[i] for i in out_indices)
        self._freeze_stages()

    @staticmethod
    def _first_layer_stride(stride: PerLayer, num_layers: int,
                            stage: int) -> Tuple[int, ...]:
        if isinstance(stride, int):
            return _per_layer(stride, 1, 'strides', stage) + (1, ) * (num_layers - 1)
        return _per_layer(stride, num_layers, 'strides', stage)

    @property
    def deploy(self) -> bool:
        """Whether every block is in its fused form."""
        return all(block.deploy for block in self.blocks())

    def blocks(self) -> List[RepVGGBlock]:
        """All RepVGG blocks, stem first."""
        return [m for m in self.modules() if isinstance(m, RepVGGBlock)]

    def forward(self, x: Tensor) -> Tuple[Tensor, ...]:
        outs = []
        for i, name in enumerate(self.stage_names):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def switch_to_deploy(self) -> None:
        """Fuse every block in place (exact in eval mode; idempotent)."""
        for block in self.blocks():
            block.switch_to_deploy()

    def _freeze_stages(self) -> None:
        for i in range(self.frozen_stages + 1):
            stage = getattr(self, self.stage_names[i])
            stage.eval()
            for param in stage.parameters():
                param.requires_grad = False

    def train(self, mode: bool = True) -> 'RepVGG':
        """Set the mode, keeping frozen stages and (with ``norm_eval``) every
        BatchNorm in eval mode."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self

    def init_weights(self) -> None:
        """Load ``init_cfg=dict(type='Pretrained', ...)`` (alone or in a
        list) through the layout-aware loader; any other init_cfg is handled
        by mmengine."""
        init_cfgs = (self.init_cfg if isinstance(self.init_cfg, (list, tuple))
                     else [self.init_cfg])
        pretrained = [c for c in init_cfgs
                      if isinstance(c, dict) and c.get('type') == 'Pretrained']
        if pretrained:
            # The strict load sets every tensor, so other initialisers in a
            # list would be overwritten anyway (mmengine applies Pretrained last).
            load_repvgg_pretrained(
                self, pretrained[-1]['checkpoint'],
                prefix=pretrained[-1].get('prefix'),
                map_location=pretrained[-1].get('map_location', 'cpu'))
            self._is_init = True
            # Loading replaced parameters' values only; keep frozen stages frozen.
            self._freeze_stages()
        else:
            super().init_weights()
