"""The paper's RepVGG architectures (Tables 2-3) as data, and the reverse:
which architecture a set of stage widths and layer counts is.

A leaf module (no imports from the package), so both the backbone and the
checkpoint inspector read the one table.
"""
from typing import Dict, Optional, Sequence, Tuple

# Layers per stage (stage 0 is the stem) and width multipliers (a, b), Table 2-3.
_A_LAYERS = (1, 2, 4, 14, 1)
_B_LAYERS = (1, 4, 6, 16, 1)
_FAMILIES = {
    'A0': (_A_LAYERS, (0.75, 2.5)),
    'A1': (_A_LAYERS, (1, 2.5)),
    'A2': (_A_LAYERS, (1.5, 2.75)),
    'B0': (_B_LAYERS, (1, 2.5)),
    'B1': (_B_LAYERS, (2, 4)),
    'B2': (_B_LAYERS, (2.5, 5)),
    'B3': (_B_LAYERS, (3, 5)),
}
_GROUPED_VARIANTS = {'B1': (2, 4), 'B2': (2, 4), 'B3': (2, 4)}


def paper_widths(a: float, b: float) -> Tuple[int, ...]:
    """Stage widths ``(min(64, 64a), 64a, 128a, 256a, 512b)``."""
    return (min(64, int(64 * a)), int(64 * a), int(128 * a), int(256 * a),
            int(512 * b))


def paper_groups(num_blocks: Sequence[int], groups: int) -> Tuple[Tuple[int, ...], ...]:
    """The paper's group-wise pattern: ``groups`` on layers 2, 4, 6, ... counted
    from 1 at the first layer of stage 1 (0-based); never the stem or stage 4.
    """
    per_stage = [(1, ) * num_blocks[0]]
    layer = 0
    for stage in range(1, 5):
        stage_groups = []
        for _ in range(num_blocks[stage]):
            layer += 1
            grouped = stage < 4 and layer % 2 == 0
            stage_groups.append(groups if grouped else 1)
        per_stage.append(tuple(stage_groups))
    return tuple(per_stage)


def _paper_arch(name: str) -> Dict:
    family, _, groups = name.partition('g')
    num_blocks, (a, b) = _FAMILIES[family]
    return dict(num_blocks=num_blocks, widths=paper_widths(a, b),
                groups=int(groups) if groups else 1)


ARCH_NAMES = tuple(
    list(_FAMILIES) +
    [f'{family}g{g}' for family, gs in _GROUPED_VARIANTS.items() for g in gs])
ARCH_SETTINGS = {name: _paper_arch(name) for name in sorted(ARCH_NAMES)}


def guess_arch(widths: Sequence[int], num_blocks: Sequence[int],
               groups: int) -> Optional[str]:
    """The paper name of these stage widths, layer counts and groups, or None.

    Args:
        widths (Sequence[int]): Five stage widths.
        num_blocks (Sequence[int]): Five layer counts.
        groups (int): The largest group count of any layer (B1, B1g2 and
            B1g4 differ only in it).
    """
    return next((name for name, arch in ARCH_SETTINGS.items()
                 if tuple(arch['widths']) == tuple(widths)
                 and tuple(arch['num_blocks']) == tuple(num_blocks)
                 and arch['groups'] == groups), None)
