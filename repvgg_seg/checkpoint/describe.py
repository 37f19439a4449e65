"""What a segmentor or backbone state dict is, in words: the form, the RepVGG
arch its widths belong to, the heads' channels and classes. Used to explain a
checkpoint that does not fit the model it was given to."""
import re
from typing import Dict, List, Mapping, Optional, Tuple

from repvgg_seg.archs import guess_arch
from .layouts import fused_block_keys

_BLOCK = re.compile(r'^(?:backbone\.)?stage(\d)\.(\d+)\.'
                    r'(branch_3x3\.conv\.weight|branch_reparam\.weight)$')


def _repvgg_stages(state: Mapping) -> Optional[Tuple[List[int], List[int], int]]:
    """Stage widths, layer counts and largest group count of a RepVGG in our
    layout, or None."""
    layers: Dict[int, Dict[int, tuple]] = {}
    for key, value in state.items():
        match = _BLOCK.match(key)
        if match and hasattr(value, 'shape'):
            layers.setdefault(int(match[1]), {})[int(match[2])] = tuple(value.shape)
    if sorted(layers) != list(range(5)):
        return None
    widths, counts, groups, channels = [], [], 1, None
    for stage in range(5):
        shapes = [layers[stage][i] for i in sorted(layers[stage])]
        for shape in shapes:
            if channels is not None and shape[1]:
                groups = max(groups, channels // shape[1])
            channels = shape[0]
        widths.append(shapes[0][0])
        counts.append(len(shapes))
    return widths, counts, groups


def describe_state(state: Mapping) -> str:
    """One line on what ``state`` holds, e.g. ``training-form RepVGG-A0
    backbone (widths 48-48-96-192-1280); decode head 512 channels, 19
    classes``."""
    parts = []
    stages = _repvgg_stages(state)
    if stages is not None:
        widths, counts, groups = stages
        fused = bool(fused_block_keys(state))
        block = 'QARepVGG' if any('.post_bn.' in k for k in state) else 'RepVGG'
        arch = guess_arch(widths, counts, groups)
        name = (f'{block}-{arch}' if arch else
                f'custom {block} (layers {"-".join(map(str, counts))})')
        parts.append(f'{"deploy-form (fused)" if fused else "training-form"} '
                     f'{name} backbone (widths {"-".join(map(str, widths))})')
    elif any(k.startswith('backbone.') for k in state):
        first = next(k for k in state if k.startswith('backbone.'))
        parts.append(f'a non-RepVGG backbone (keys like {first})')
    for head in ('decode_head', 'auxiliary_head'):
        seg = state.get(f'{head}.conv_seg.weight')
        if seg is not None and hasattr(seg, 'shape'):
            parts.append(f'{head.replace("_", " ")} {seg.shape[1]} channels, '
                         f'{seg.shape[0]} classes')
    return '; '.join(parts) if parts else f'{len(state)} tensors of no known layout'
