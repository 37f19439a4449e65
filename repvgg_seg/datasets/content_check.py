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

import mmcv
import numpy as np

from repvgg_seg.process_env import usable_cpus
from repvgg_seg.text import first_few



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


@dataclass(frozen=True)
class Decoders:
    """How the pipeline decodes (mmseg's ``LoadImageFromFile`` and
    ``LoadAnnotations`` settings), so the check sees what training sees: a
    palette PNG's indices with pillow, EXIF rotation with ``color``."""

    image_backend: str = 'cv2'
    color_type: str = 'color'
    label_backend: str = 'pillow'


def _decode(path: str, flag: str, backend: str) -> Optional[np.ndarray]:
    try:
        with open(path, 'rb') as f:
            return mmcv.imfrombytes(f.read(), flag=flag, backend=backend)
    except Exception:  # cv2 returns None, pillow raises, for broken files
        return None


def _check_pair(job: Tuple[str, str, Tuple[int, ...], Decoders]) -> dict:
    """Decode one image and its label map (a worker process)."""
    img_path, seg_path, allowed, decoders = job
    result: dict = {}
    image = _decode(img_path, decoders.color_type, decoders.image_backend)
    if image is None:
        result['unreadable'] = f'{img_path}: cannot decode the image'
    labels = (_decode(seg_path, 'unchanged', decoders.label_backend)
              if seg_path else None)
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


def _cache_file(pairs: Sequence[Tuple[str, str]], key: str) -> str:
    # One file per dataset folder (its splits merge into it) and settings.
    root = osp.dirname(osp.commonpath([osp.abspath(p) for p in pairs[0] if p]))
    digest = hashlib.sha1(f'{root}|{key}'.encode()).hexdigest()[:16]
    return osp.join(cache_dir(), f'{digest}.json')


def _read_cache(path: str) -> Dict[str, dict]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


def _progress(done: int, total: int, start: float, what: str) -> None:
    print(f'[data check] {what}: {done}/{total} files read '
          f'({time.perf_counter() - start:.0f} s)', file=sys.stderr, flush=True)


def scan_contents(pairs: Sequence[Tuple[str, str]], allowed: Sequence[int],
                  what: str = 'dataset', workers: Optional[int] = None,
                  use_cache: bool = True,
                  decoders: Decoders = Decoders()) -> ContentReport:
    """Read every ``(image, label map)`` pair once.

    Args:
        pairs (Sequence[tuple]): Image and label-map paths (label ``''`` for
            none).
        allowed (Sequence[int]): Label values that are fine (the classes'
            ids and the ignore index).
        what (str): Name in progress lines.
        workers (int, optional): Processes (default: the CPU count, at most 8).
        use_cache (bool): Reuse and store per-file results.
        decoders (Decoders): The pipeline's decoding settings.

    Returns:
        ContentReport: What was wrong, and how many files were read.
    """
    allowed = tuple(sorted(set(int(v) for v in allowed)))
    report = ContentReport()
    if not pairs:
        return report
    cache_path = _cache_file(pairs, f'{allowed}|{decoders}')
    cache = _read_cache(cache_path) if use_cache else {}
    keys = [f'{img}|{_stamp(img)}|{seg}|{_stamp(seg)}' for img, seg in pairs]
    todo = [(i, (img, seg, allowed, decoders)) for i, ((img, seg), key)
            in enumerate(zip(pairs, keys)) if key not in cache]
    results: Dict[str, dict] = {k: cache[k] for k in keys if k in cache}
    report.from_cache = len(results)
    if todo:
        start = time.perf_counter()
        step = max(len(todo) // 10, 1)
        workers = workers or usable_cpus()
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
            cache = _read_cache(cache_path)  # what a concurrent run added
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


def _value_ranges(values: Sequence[int]) -> str:
    """``[0, 1, 2, 255]`` as ``'0..2, 255'``."""
    runs = []
    for value in sorted(values):
        if runs and value == runs[-1][1] + 1:
            runs[-1][1] = value
        else:
            runs.append([value, value])
    return ', '.join(f'{a}..{b}' if b > a else f'{a}' for a, b in runs)


def raise_for_problems(report: ContentReport, what: str,
                       allowed: Sequence[int]) -> None:
    """One error naming every kind of problem, its first files and counts.

    Args:
        report (ContentReport): What :func:`scan_contents` found.
        what (str): The dataloader, for the message.
        allowed (Sequence[int]): The label values that are fine.

    Raises:
        DatasetContentError: ``report`` found anything.
    """
    if report.ok:
        return
    lines = [f'{what}: the data would break this run or skew its metrics:']
    if report.unreadable:
        lines.append(f'  {len(report.unreadable)} files cannot be read: '
                     f'{first_few(report.unreadable, 3, "; ")}. Replace or remove '
                     'them (with their image or label map).')
    if report.size_mismatch:
        lines.append(f'  {len(report.size_mismatch)} label maps differ in size '
                     f'from their image: {first_few(report.size_mismatch, 3, "; ")}.')
    if report.bad_values:
        lines.append(
            f'  {len(report.bad_values)} label maps hold values that are no class '
            f'(allowed: {_value_ranges(allowed)}): '
            f'{first_few(report.bad_values, 3, "; ")}. Label maps must hold '
            'trainIds (Cityscapes: tools/prepare_cityscapes.py writes them), or '
            "the dataset's classes must cover these values.")
    raise DatasetContentError('\n'.join(lines))
