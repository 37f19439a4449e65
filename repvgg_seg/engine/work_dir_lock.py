"""One training run per work dir: a lock file naming the run that holds it.

Two runs writing into one work dir interleave their logs and scalars and
overwrite each other's checkpoints, and both end with exit status 0. The
lock file is created atomically; a second run stops at once and names the
first. A lock left by a run that died on this machine is noticed (its
process is gone) and taken over.
"""
import contextlib
import datetime
import json
import os
import os.path as osp
import socket
import sys
from typing import Iterator

LOCK_NAME = 'repvgg_seg_run.lock'


class WorkDirLockedError(RuntimeError):
    """Another live run holds the work dir (the message names it)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def _read(path: str) -> dict:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def work_dir_lock(work_dir: str) -> Iterator[str]:
    """Hold ``work_dir`` for this process while the block runs.

    Only the first process of a distributed run takes the lock (``RANK`` 0).

    Yields:
        str: The lock file ('' on other ranks).

    Raises:
        WorkDirLockedError: A live run (this machine) or a run on another
            machine holds it.
    """
    if int(os.environ.get('RANK', '0')) != 0:
        yield ''
        return
    os.makedirs(work_dir, exist_ok=True)
    path = osp.join(work_dir, LOCK_NAME)
    me = dict(pid=os.getpid(), host=socket.gethostname(),
              started=datetime.datetime.now().isoformat(timespec='seconds'),
              command=' '.join(sys.argv))
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            break
        except FileExistsError:
            other = _read(path)
            stale = (other.get('host') == me['host'] and
                     isinstance(other.get('pid'), int) and not _alive(other['pid']))
            if not stale:
                who = (f"pid {other.get('pid', '?')} on {other.get('host', '?')} "
                       f"since {other.get('started', '?')}: {other.get('command', '?')}")
                raise WorkDirLockedError(
                    f'{work_dir} is in use by another training run ({who}). Wait '
                    'for it to finish or give this run its own --work-dir. If '
                    f'that run is gone (it ran on another machine), delete {path}.')
            print(f'note: taking over {path} left by pid {other["pid"]}, which '
                  'is no longer running', file=sys.stderr)
            os.remove(path)
    else:  # pragma: no cover - lost a race twice
        raise WorkDirLockedError(f'could not take {path}; try again')
    with os.fdopen(fd, 'w') as f:
        json.dump(me, f)
    try:
        yield path
    finally:
        if _read(path).get('pid') == me['pid']:
            os.remove(path)
