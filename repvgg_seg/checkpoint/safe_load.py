"""Loading checkpoints without unpickling arbitrary code.

Every checkpoint is read with ``torch.load(weights_only=True)``. mmengine's own
checkpoints also hold a few non-tensor objects (its ``HistoryBuffer``, numpy
arrays and scalars in the message hub); those types, and only those, are
allow-listed, inside a ``torch.serialization.safe_globals`` scope, so nothing
changes for other ``torch.load`` calls in the process.

:func:`register_safe_checkpoint_loader` makes mmengine's ``CheckpointLoader``
read local files through :func:`load_checkpoint_file` and URLs (``https://``,
``open-mmlab://``, ``torchvision://``, ...) through :func:`load_checkpoint_url`,
so ``load_from``, ``--resume``, ``tools/test.py CKPT`` and
``init_cfg=Pretrained`` all get the same protection and the same clear errors.
"""
import os
import os.path as osp
import pickle
import zipfile
from typing import Any, Callable, List, Optional, Union

import numpy as np
import torch


class UnsafeCheckpointError(pickle.UnpicklingError):
    """A checkpoint holds pickled objects outside the allow-list."""


class CheckpointFileError(ValueError):
    """The file is not a readable PyTorch checkpoint (empty, truncated, or
    another kind of file); the message names it and says what is wrong."""


# torch.save writes a zip archive (since 1.6) or, in the legacy format, a
# pickle (protocol 2 starts with 0x80 0x02).
_ZIP_MAGIC = b'PK\x03\x04'
_PICKLE_MAGIC = b'\x80'


def _check_file_kind(filename: str) -> None:
    """Name what is wrong with a file that cannot be a checkpoint, before
    torch meets it with a message that does not name the file."""
    size = osp.getsize(filename)
    if size == 0:
        raise CheckpointFileError(f'{filename}: the file is empty (0 bytes); an '
                                  'interrupted download or copy? Fetch it again.')
    with open(filename, 'rb') as f:
        head = f.read(4)
    if head.startswith(_ZIP_MAGIC):
        if not zipfile.is_zipfile(filename):
            raise CheckpointFileError(
                f'{filename}: truncated or corrupt ({size} bytes; the zip '
                'archive torch.save writes has no end). An interrupted save, '
                'download or copy? Use another checkpoint or fetch it again.')
        return
    if not head.startswith(_PICKLE_MAGIC):
        kind = 'text' if all(32 <= b < 127 or b in b'\t\r\n' for b in head) else 'binary'
        raise CheckpointFileError(
            f'{filename}: not a PyTorch checkpoint (a {kind} file starting with '
            f'{head!r}; torch.save writes a zip archive).')


# HistoryBuffer.__getstate__ pickles its statistics methods as
# ``getattr(HistoryBuffer, 'min')`` etc. A general ``getattr`` would let a pickle
# walk from any allowed object to ``__globals__`` and on to ``eval``, so the name
# ``builtins.getattr`` is bound to this function, which resolves only those.
_HISTORY_BUFFER_METHODS = frozenset({'min', 'max', 'current', 'mean'})


def _history_buffer_getattr(obj: Any, name: str) -> Any:
    from mmengine.logging import HistoryBuffer
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'Unsupported global: getattr({obj!r}, {name!r}) is not allow-listed')


def mmengine_safe_globals() -> List[Any]:
    """The non-tensor types found in mmengine 0.10.7 checkpoints.

    The message hub stores ``HistoryBuffer`` objects whose state is numpy
    arrays and their statistics methods; logged scalars may be numpy scalars.
    numpy rebuilds those through ``_reconstruct``/``scalar`` and its dtypes.
    """
    from mmengine.logging import HistoryBuffer
    try:  # numpy >= 2 moved the pickling helpers to numpy._core
        from numpy._core.multiarray import _reconstruct, scalar
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct, scalar
    dtype_classes = [type(np.dtype(t)) for t in (
        np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
        np.uint32, np.uint64, np.float16, np.float32, np.float64, np.str_)]
    # A file pickles these helpers under the module name of the numpy that
    # wrote it (numpy.core before 2.0, numpy._core since): accept both.
    numpy_names = [(fn, f'{module}.multiarray.{fn.__name__}')
                   for fn in (_reconstruct, scalar)
                   for module in ('numpy.core', 'numpy._core')]
    return [HistoryBuffer, np.ndarray, np.dtype, *dtype_classes, *numpy_names,
            (_history_buffer_getattr, 'builtins.getattr')]


def _read_safely(read: Callable[[], Any], source: str) -> Any:
    """Run ``read`` (a ``weights_only`` load) inside the allow-list scope and
    turn a refusal into :class:`UnsafeCheckpointError`."""
    try:
        with torch.serialization.safe_globals(mmengine_safe_globals()):
            return read()
    except pickle.UnpicklingError as err:
        detail = str(err).strip().splitlines()
        reason = next((line for line in detail if 'GLOBAL' in line or
                       'Unsupported' in line), None)
        if reason is None:  # not a refused object: the pickle itself is broken
            raise CheckpointFileError(
                f'{source}: damaged checkpoint, its pickled data cannot be read '
                f'({detail[0] if detail else type(err).__name__}). Use another '
                'checkpoint or fetch it again.') from None
        raise UnsafeCheckpointError(
            f'Refusing to load {source}: it contains pickled objects beyond '
            'tensors, containers and the allow-listed mmengine/numpy types, '
            'and unpickling them could execute arbitrary code. Nothing from '
            f'the file was run. torch said: {reason.strip()}') from None


def load_checkpoint_file(filename: Union[str, os.PathLike],
                         map_location: Any = 'cpu') -> Any:
    """Read a checkpoint file safely.

    Args:
        filename (str | PathLike): Local path.
        map_location: Passed to ``torch.load``. Default: 'cpu'.

    Returns:
        The unpickled object (usually a dict).

    Raises:
        FileNotFoundError: The file does not exist.
        CheckpointFileError: The file is empty, truncated, damaged or not a
            PyTorch checkpoint.
        UnsafeCheckpointError: The file holds pickled objects that are not
            tensors, plain containers or the allow-listed mmengine/numpy types
            (it could run code when unpickled); nothing in it was executed.
    """
    filename = osp.expanduser(os.fspath(filename))
    if not osp.isfile(filename):
        raise FileNotFoundError(f'Checkpoint file not found: {filename}')
    _check_file_kind(filename)
    try:
        return _read_safely(
            lambda: torch.load(filename, map_location=map_location,
                               weights_only=True), filename)
    except CheckpointFileError:
        raise
    except (RuntimeError, EOFError, IndexError, KeyError, ValueError,
            zipfile.BadZipFile) as err:
        # What torch raises for damaged archives and pickles.
        raise CheckpointFileError(
            f'{filename}: damaged checkpoint, torch could not read it '
            f'({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ""}). '
            'Use another checkpoint or fetch it again.') from None


def load_checkpoint_url(url: str,
                        model_dir: Optional[str] = None,
                        map_location: Any = None,
                        progress: bool = True,
                        check_hash: bool = False,
                        file_name: Optional[str] = None) -> Any:
    """Download (or reuse torch's hub cache) and read a checkpoint safely.

    Same arguments as ``torch.hub.load_state_dict_from_url``, which by default
    unpickles with ``weights_only=False``; here the file gets the checks of
    :func:`load_checkpoint_file`.

    Raises:
        UnsafeCheckpointError: The file holds pickled code; nothing ran.
    """
    return _read_safely(
        lambda: torch.hub.load_state_dict_from_url(
            url, model_dir=model_dir, map_location=map_location,
            progress=progress, check_hash=check_hash, file_name=file_name,
            weights_only=True), url)


def read_checkpoint(source: Union[str, os.PathLike], map_location: Any = 'cpu') -> Any:
    """A local file or any URL scheme mmengine knows, read safely (importing
    ``repvgg_seg`` has already routed mmengine's URL loading through
    :func:`load_checkpoint_url`)."""
    source = os.fspath(source)
    if '://' not in source:
        return load_checkpoint_file(source, map_location)
    from mmengine.runner import CheckpointLoader
    return CheckpointLoader.load_checkpoint(source, map_location)


def _load_from_local(filename: str, map_location: Any) -> Any:
    return load_checkpoint_file(filename, map_location)


def register_safe_checkpoint_loader() -> None:
    """Route mmengine's checkpoint reading through the safe loaders.

    Local files: mmengine's documented ``register_scheme`` hook. URLs:
    mmengine 0.10.7 sends every URL scheme (``http(s)://`` directly,
    ``open-mmlab://``, ``torchvision://`` and ``mmcls://`` after resolving the
    name) through its module-level ``load_url``, torch's unsafe-by-default
    ``load_state_dict_from_url``; there is no hook for it, so that one name is
    rebound to :func:`load_checkpoint_url`.
    """
    from mmengine.runner import CheckpointLoader
    from mmengine.runner import checkpoint as mmengine_checkpoint
    CheckpointLoader.register_scheme(prefixes='', loader=_load_from_local,
                                     force=True)
    mmengine_checkpoint.load_url = load_checkpoint_url
