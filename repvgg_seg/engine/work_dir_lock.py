"""One training run per work dir: a lock that names the run holding it.

Two runs writing into one work dir interleave their logs and scalars and
overwrite each other's checkpoints, and both end with exit status 0. Each
run holds an exclusive ``flock`` on ``WORK_DIR/repvgg_seg_run.lock`` while it
trains; the kernel drops it when the process ends, however it ends, so a
crashed run never leaves a stale lock. The file also records pid, host,
start time and command, for the message the second run prints.
"""
import contextlib
import datetime
import fcntl
import json
import os
import os.path as osp
import socket
import sys
from typing import Iterator, Optional

from repvgg_seg.process_env import global_rank

LOCK_NAME = 'repvgg_seg_run.lock'


# Lock descriptors this process holds. A forked child (a data-loader worker)
# inherits them, and the lock would outlive a killed trainer until its
# workers noticed; children close their copies at once.
_HELD = set()


def _close_inherited() -> None:
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


os.register_at_fork(after_in_child=_close_inherited)


class WorkDirLockedError(RuntimeError):
    """Another live run holds the work dir (the message names it)."""


def _holder(path: str) -> str:
    try:
        with open(path) as f:
            other = json.load(f)
    except (OSError, ValueError):
        return 'a run whose details could not be read'
    return (f"pid {other.get('pid', '?')} on {other.get('host', '?')} since "
            f"{other.get('started', '?')}: {other.get('command', '?')}")


def _refuse(work_dir: str, path: str) -> None:
    raise WorkDirLockedError(
        f'{work_dir} is in use by another training run ({_holder(path)}). Wait '
        'for it to finish or give this run its own --work-dir.')


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def check_work_dir_free(work_dir: str) -> None:
    """Raise at once if a live run holds ``work_dir`` (creates nothing).

    Raises:
        WorkDirLockedError: Another run holds it.
    """
    path = osp.join(work_dir, LOCK_NAME)
    if global_rank() != 0 or not osp.isfile(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        if not _try_lock(fd):
            _refuse(work_dir, path)
    finally:
        os.close(fd)  # closing drops a lock taken just to look


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[Optional[str]]:
    """Hold ``work_dir`` for this process while the block runs.

    Only global rank 0 of a distributed run takes the lock.

    Yields:
        str | None: The lock file (None on other ranks).

    Raises:
        WorkDirLockedError: A live run holds it.
    """
    if global_rank() != 0:
        yield None
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            _refuse(work_dir, path)
        # A run that just finished may have removed the file we opened; then
        # the lock is on a file nobody else will find: open the new one.
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    me = dict(pid=os.getpid(), host=socket.gethostname(),
              started=datetime.datetime.now().isoformat(timespec='seconds'),
              command=' '.join(sys.argv))
    os.ftruncate(fd, 0)
    os.write(fd, json.dumps(me).encode())
    _HELD.add(fd)
    try:
        yield path
    finally:
        os.remove(path)  # while still holding it, so no one locks a dead file
        _HELD.discard(fd)
        os.close(fd)
