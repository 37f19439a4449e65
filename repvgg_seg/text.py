"""Wording shared by the error messages (a leaf module: it imports nothing)."""
from typing import Sequence


def first_few(items: Sequence[str], limit: int = 4, sep: str = ', ') -> str:
    """``'a, b, c ... (12 in all)'``: the first ``limit`` items and the count."""
    shown = sep.join(str(i) for i in items[:limit])
    return shown + (f' ... ({len(items)} in all)' if len(items) > limit else '')
