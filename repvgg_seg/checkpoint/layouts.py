"""Recognise RepVGG weights in the key layouts users bring, and map them to ours.

Our layout (relative to the backbone): ``stage{s}.{i}.branch_3x3.conv.weight``,
``stage{s}.{i}.branch_3x3.bn.*``, ``...branch_1x1.*``, ``...branch_identity.*``
(QARepVGG blocks: ``...branch_1x1.conv.weight`` and ``...post_bn.*``, no
identity tensors) and in deploy form ``...branch_reparam.{weight,bias}``; a classifier's head is
``head.fc.{weight,bias}``. Stage 0 is the stem.
"""
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable, Dict, List, Mapping, Optional, Tuple

from torch import Tensor

from repvgg_seg.text import first_few

StateDict = Dict[str, Tensor]


@dataclass(frozen=True)
class _Layout:
    """How one source names the blocks, branches and classifier of RepVGG."""

    name: str
    example: str
    block: str  # regex for a block path, with named groups for its position
    position: Callable[[Mapping[str, Optional[str]]], Tuple[int, int]]
    branches: Mapping[str, str]  # source branch name -> ours
    param_renames: Tuple[Tuple[str, str], ...] = ()
    heads: Tuple[str, ...] = ('head.fc.', )

    @cached_property
    def pattern(self) -> 're.Pattern':
        return re.compile(rf'^(?P<outer>(?:[^.]+\.)*?)(?:{self.block})\.(?P<branch>[^.]+)'
                          rf'\.(?P<param>.+)$')


def _stage_index(groups: Mapping[str, Optional[str]]) -> Tuple[int, int]:
    return int(groups['stage'] or 0), int(groups['index'] or 0)


LAYOUTS = (
    _Layout(
        name='authors',
        example='stage0.rbr_dense.conv.weight',
        block=r'stage0|stage(?P<stage>[1-4])\.(?P<index>\d+)',
        position=_stage_index,
        branches={'rbr_dense': 'branch_3x3', 'rbr_1x1': 'branch_1x1',
                  'rbr_identity': 'branch_identity',
                  'rbr_reparam': 'branch_reparam'},
        heads=('linear.', )),
    _Layout(
        name='timm',
        example='stem.conv_kxk.conv.weight',
        block=r'(?:stem|stages\.(?P<stage>[0-3])\.(?P<index>\d+))',
        position=lambda g: ((int(g['stage']) + 1, int(g['index']))
                            if g['stage'] is not None else (0, 0)),
        branches={'conv_kxk': 'branch_3x3', 'conv_1x1': 'branch_1x1',
                  'identity': 'branch_identity',
                  'reparam_conv': 'branch_reparam'}),
    _Layout(
        name='mmpretrain',
        example='backbone.stem.branch_3x3.norm.weight',
        block=r'(?:stem|stage_(?P<stage>[1-4])\.(?P<index>\d+))',
        position=_stage_index,
        branches={'branch_3x3': 'branch_3x3', 'branch_1x1': 'branch_1x1',
                  'branch_norm': 'branch_identity',
                  'branch_reparam': 'branch_reparam'},
        param_renames=(('norm.', 'bn.'), )),
    _Layout(
        name='repvgg_seg',
        example='backbone.stage0.0.branch_3x3.bn.weight',
        block=r'stage(?P<stage>[0-4])\.(?P<index>\d+)',
        position=_stage_index,
        branches={b: b for b in ('branch_3x3', 'branch_1x1', 'branch_identity',
                                 'post_bn', 'branch_reparam')}),
)


class CheckpointLayoutError(ValueError):
    """The checkpoint's keys do not form one recognisable RepVGG layout."""


@dataclass
class ConvertedCheckpoint:
    """RepVGG weights mapped to this project's names.

    Attributes:
        backbone: Backbone tensors under our names, relative to the backbone.
        head: Classifier tensors relative to the head (``fc.weight``, ...).
        layout: Source layout: 'authors', 'timm', 'mmpretrain' or 'repvgg_seg'.
        form: 'train' (multi-branch) or 'deploy' (fused).
        unmapped: Source keys inside backbone blocks that have no counterpart
            here (e.g. squeeze-excitation weights of RepVGG variants).
        ignored: Source keys outside the backbone and head (decode heads...).
    """

    backbone: StateDict
    head: StateDict
    layout: str
    form: str
    unmapped: List[str] = field(default_factory=list)
    ignored: List[str] = field(default_factory=list)


def extract_state_dict(checkpoint: Mapping) -> StateDict:
    """Unwrap ``state_dict``/``model`` and drop a ``module.`` (DDP) prefix."""
    state = checkpoint
    for wrapper in ('state_dict', 'model'):
        if isinstance(state, Mapping) and isinstance(state.get(wrapper), Mapping):
            state = state[wrapper]
            break
    if not isinstance(state, Mapping):
        raise CheckpointLayoutError(
            f'Expected a dict of tensors (optionally under "state_dict" or '
            f'"model"), got {type(state).__name__}')
    return {(k[len('module.'):] if k.startswith('module.') else k): v
            for k, v in state.items()}


def fused_block_keys(state: Mapping[str, object]) -> List[str]:
    """Keys of fused (deploy-form) RepVGG blocks in this project's layout."""
    return [k for k in state if '.branch_reparam.' in k]


def _select_prefix(state: StateDict, prefix: str) -> StateDict:
    selected = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    if not selected:
        roots = sorted({k.split('.', 1)[0] + '.' for k in state})
        raise CheckpointLayoutError(
            f'No key starts with prefix={prefix!r}; the top-level prefixes in '
            f'the checkpoint are: {first_few(roots, 10)}')
    return selected


def _match(layout: _Layout, key: str) -> Optional['re.Match']:
    match = layout.pattern.match(key)
    if match and match['branch'] in layout.branches:
        return match
    return None


def detect_layout(keys: List[str]) -> _Layout:
    """Pick the one layout whose block keys appear; explain otherwise."""
    found = [(layout, sum(_match(layout, k) is not None for k in keys))
             for layout in LAYOUTS]
    found = [(layout, n) for layout, n in found if n]
    if not found:
        examples = '; '.join(f'{lay.name}: {lay.example}' for lay in LAYOUTS)
        raise CheckpointLayoutError(
            f'No RepVGG weights recognised. Known layouts ({examples}). '
            f'First keys of this checkpoint: {first_few(keys, 8)}')
    if len(found) > 1:
        names = ', '.join(f'{lay.name} ({n} keys)' for lay, n in found)
        raise CheckpointLayoutError(f'Keys of several RepVGG layouts are mixed: '
                                    f'{names}')
    return found[0][0]


def to_repvgg_seg_layout(state: StateDict,
                         prefix: Optional[str] = None) -> ConvertedCheckpoint:
    """Map a state dict in any known layout to this project's names.

    Args:
        state (dict): Tensors as found in the file, after
            :func:`extract_state_dict`.
        prefix (str, optional): Keep only keys that start with it and strip it
            (mmengine's ``Pretrained`` semantics, e.g. ``'backbone.'``).

    Returns:
        ConvertedCheckpoint: Backbone and head tensors under our names.
    """
    if prefix:
        state = _select_prefix(state, prefix)
    layout = detect_layout(list(state))

    outer_prefixes = {m['outer'] for m in map(layout.pattern.match, state)
                      if m and m['branch'] in layout.branches}
    if len(outer_prefixes) > 1:
        raise CheckpointLayoutError(
            f'RepVGG weights appear under several prefixes '
            f'{sorted(outer_prefixes)}; pick one with prefix=...')
    (outer, ) = outer_prefixes

    backbone, head, unmapped, ignored = {}, {}, [], []
    forms = set()
    for key, value in state.items():
        match = layout.pattern.match(key)
        if match and match['outer'] == outer:
            branch = layout.branches.get(match['branch'])
            if branch is None:
                unmapped.append(key)
                continue
            param = match['param']
            for old, new in layout.param_renames:
                if param.startswith(old):
                    param = new + param[len(old):]
            stage, index = layout.position(match.groupdict())
            backbone[f'stage{stage}.{index}.{branch}.{param}'] = value
            forms.add('deploy' if branch == 'branch_reparam' else 'train')
            continue
        head_prefix = next((h for h in layout.heads if key.startswith(h)), None)
        if head_prefix is not None:
            head['fc.' + key[len(head_prefix):]] = value
        else:
            ignored.append(key)
    if len(forms) > 1:
        raise CheckpointLayoutError(
            'The checkpoint mixes training-form branches and fused '
            '(re-parameterized) convs; it is neither form.')
    return ConvertedCheckpoint(backbone=backbone, head=head, layout=layout.name,
                               form=forms.pop(), unmapped=unmapped,
                               ignored=ignored)
