"""Every image and label map read once before a run, in parallel and cached.

Bad data otherwise surfaces deep into training or silently: label values of
no class are ignored by the metric (a wrong mIoU) or crash the loss only when
sampled, a label map of another size than its image breaks validation, and a
corrupt image stops the first validation. This scan finds all of them before
anything is built and names the files. Results are cached per file (path,
size, modification time), so a second run over the same data is instant.
"""
import hashlib
import json
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np



def cache_dir() -> str:
    """``$XDG_CACHE_HOME/repvgg_seg/data_checks`` (default ``~/.cache/...``)."""
    return osp.join(os.environ.get('XDG_CACHE_HOME') or osp.expanduser('~/.cache'),
                    'repvgg_seg', 'data_checks')


class DatasetContentError(ValueError):
    """Images or label maps that would break a run or skew its metrics."""


@dataclass
class ContentReport:
    """Problems found, each a list of ``(file, detail)``."""

    bad_values: List[Tuple[str, str]] = field(default_factory=list)
    size_mismatch: List[Tuple[str, str]] = field(default_factory=list)
    unreadable: List[Tuple[str, str]] = field(default_factory=list)
    checked: int = 0
    from_cache: int = 0

    @property
    def ok(self) -> bool:
        return not (self.bad_values or self.size_mismatch or self.unreadable)


def _check_pair(job: Tuple[str, str, Tuple[int, ...]]) -> dict:
    """Decode one image and its label map (a worker process)."""
    img_path, seg_path, allowed = job
    result: dict = {}
    image = cv2.imread(img_path, cv2.IMREAD_UNCHANGED)
    if image is None:
        result['unreadable'] = f'{img_path}: cannot decode the image'
    labels = cv2.imread(seg_path, cv2.IMREAD_UNCHANGED) if seg_path else None
    if seg_path and labels is None:
        result['unreadable'] = f'{seg_path}: cannot decode the label map'
    if image is not None and labels is not None:
        if image.shape[:2] != labels.shape[:2]:
            result['size'] = (f'{seg_path}: label map {labels.shape[1]}x'
                              f'{labels.shape[0]}, image {image.shape[1]}x'
                              f'{image.shape[0]}')
        values = np.unique(labels)
        bad = values[~np.isin(values, np.asarray(allowed))]
        if bad.size:
            shown = ', '.join(str(int(v)) for v in bad[:6])
            result['values'] = f'{seg_path}: values {shown}' + (
                ' ...' if bad.size > 6 else '')
    return result


def _stamp(path: str) -> str:
    if not path:
        return ''
    stat = os.stat(path)
    return f'{stat.st_size}:{stat.st_mtime_ns}'


def _cache_file(pairs: Sequence[Tuple[str, str]], allowed: Tuple[int, ...]) -> str:
    # One file per data root (all splits merge into it) and class set.
    root = osp.commonpath([osp.abspath(p) for p in pairs[0] if p])
    digest = hashlib.sha1(f'{osp.dirname(root)}|{allowed}'.encode()).hexdigest()[:16]
    return osp.join(cache_dir(), f'{digest}.json')


def _progress(done: int, total: int, start: float, what: str) -> None:
    print(f'[data check] {what}: {done}/{total} files read '
          f'({time.perf_counter() - start:.0f} s)', file=sys.stderr, flush=True)


def scan_contents(pairs: Sequence[Tuple[str, str]], allowed: Sequence[int],
                  what: str = 'dataset', workers: Optional[int] = None,
                  use_cache: bool = True) -> ContentReport:
    """Read every ``(image, label map)`` pair once.

    Args:
        pairs (Sequence[tuple]): Image and label-map paths (label ``''`` for
            none).
        allowed (Sequence[int]): Label values that are fine (the classes'
            ids and the ignore index).
        what (str): Name in progress lines.
        workers (int, optional): Processes (default: the CPU count, at most 8).
        use_cache (bool): Reuse and store per-file results.

    Returns:
        ContentReport: What was wrong, and how many files were read.
    """
    allowed = tuple(sorted(set(int(v) for v in allowed)))
    report = ContentReport()
    if not pairs:
        return report
    cache_path = _cache_file(pairs, allowed)
    cache: Dict[str, dict] = {}
    if use_cache and osp.isfile(cache_path):
        try:
            with open(cache_path) as f:
                cache = json.load(f)
        except (OSError, ValueError):
            cache = {}
    keys = [f'{img}|{_stamp(img)}|{seg}|{_stamp(seg)}' for img, seg in pairs]
    todo = [(i, (img, seg, allowed)) for i, ((img, seg), key)
            in enumerate(zip(pairs, keys)) if key not in cache]
    results: Dict[str, dict] = {k: cache[k] for k in keys if k in cache}
    report.from_cache = len(results)
    if todo:
        start = time.perf_counter()
        step = max(len(todo) // 10, 1)
        workers = workers or min(os.cpu_count() or 1, 8)
        jobs = [job for _, job in todo]
        if workers > 1 and len(todo) > 16:
            with Pool(workers) as pool:
                outputs = []
                for n, out in enumerate(pool.imap(_check_pair, jobs, chunksize=4)):
                    outputs.append(out)
                    if (n + 1) % step == 0:
                        _progress(n + 1, len(todo), start, what)
        else:
            outputs = [_check_pair(job) for job in jobs]
        for (i, _), out in zip(todo, outputs):
            results[keys[i]] = out
        report.checked = len(todo)
        if use_cache:
            os.makedirs(cache_dir(), exist_ok=True)
            cache.update(results)
            tmp = f'{cache_path}.{os.getpid()}'
            with open(tmp, 'w') as f:
                json.dump(cache, f)
            os.replace(tmp, cache_path)  # atomic: concurrent runs never see half
    for key in keys:
        found = results[key]
        for kind, target in (('values', report.bad_values),
                             ('size', report.size_mismatch),
                             ('unreadable', report.unreadable)):
            if kind in found:
                target.append(found[kind])
    return report


def _some(items: List[str], limit: int = 3) -> str:
    return '; '.join(items[:limit]) + (f'; ... ({len(items)} in all)'
                                       if len(items) > limit else '')


def raise_for_problems(report: ContentReport, what: str, num_classes: int,
                       ignore_index: int) -> None:
    """One error naming every kind of problem, its first files and counts.

    Raises:
        DatasetContentError: ``report`` found anything.
    """
    if report.ok:
        return
    lines = [f'{what}: the data would break this run or skew its metrics:']
    if report.unreadable:
        lines.append(f'  {len(report.unreadable)} files cannot be read: '
                     f'{_some(report.unreadable)}. Replace or remove them '
                     '(with their image or label map).')
    if report.size_mismatch:
        lines.append(f'  {len(report.size_mismatch)} label maps differ in size '
                     f'from their image: {_some(report.size_mismatch)}.')
    if report.bad_values:
        lines.append(
            f'  {len(report.bad_values)} label maps hold values that are no class '
            f'(classes 0..{num_classes - 1}, ignore {ignore_index}): '
            f'{_some(report.bad_values)}. Label maps must hold trainIds '
            '(Cityscapes: tools/prepare_cityscapes.py writes them), or the '
            "dataset's classes must cover these values.")
    raise DatasetContentError('\n'.join(lines))
