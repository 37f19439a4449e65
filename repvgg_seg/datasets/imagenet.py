"""ImageNet-style image-folder classification dataset.

Two layouts are read, both relative to ``data_root`` + ``data_prefix``:

- class folders (ImageNet ``train/``, or any torchvision-``ImageFolder``-like
  tree)::

      train/n01440764/n01440764_10026.JPEG
      train/n01443537/...

  Images are found recursively inside each class folder; the class index is
  the position of the folder name in sorted order, unless ``classes`` fixes
  names and order.

- a folder plus a label file (ImageNet ``val/`` with ``meta/val.txt``): each
  non-empty line of ``ann_file`` is ``<path relative to the image folder>
  <label index>``, e.g. ``ILSVRC2012_val_00000001.JPEG 65``.

Files are read from the local file system.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple, Union

from mmengine.dataset import BaseDataset
from mmseg.registry import DATASETS

IMG_EXTENSIONS: Tuple[str, ...] = ('.jpg', '.jpeg', '.png', '.bmp')

# How many offending names an error message spells out.
_MAX_NAMED = 5


def _named(items: Sequence[str], total: Optional[int] = None) -> str:
    """``'a', 'b', 'c' (and 7 more)`` for error messages."""
    total = len(items) if total is None else total
    shown = ', '.join(repr(i) for i in items[:_MAX_NAMED])
    extra = total - min(len(items), _MAX_NAMED)
    return shown + (f' (and {extra} more)' if extra > 0 else '')


def _is_image(name: str, extensions: Tuple[str, ...]) -> bool:
    return name.lower().endswith(extensions)


def find_class_folders(img_dir: str) -> List[str]:
    """Sorted names of the non-hidden sub-folders of ``img_dir``.

    Args:
        img_dir (str): Folder that holds one sub-folder per class.

    Returns:
        list[str]: Folder names in sorted order.
    """
    with os.scandir(img_dir) as entries:
        return sorted(e.name for e in entries
                      if e.is_dir() and not e.name.startswith('.'))


def scan_images(folder: str, extensions: Tuple[str, ...]) -> List[str]:
    """All image files below ``folder`` (recursively), as sorted paths.

    Args:
        folder (str): Folder to scan; symlinked folders are followed.
        extensions (tuple[str]): Lower-case extensions with the dot; matched
            case-insensitively.

    Returns:
        list[str]: Paths joined onto ``folder``, sorted for a stable order.
    """
    found = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs[:] = [d for d in dirs if not d.startswith('.')]
        found.extend(
            osp.join(root, f) for f in files
            if not f.startswith('.') and _is_image(f, extensions))
    return sorted(found)


def _read_class_names(classes: Union[str, Sequence[str]]) -> List[str]:
    """Class names from a sequence or a text file with one name per line."""
    if isinstance(classes, str):
        if not osp.isfile(classes):
            raise FileNotFoundError(f'classes file {classes!r} does not exist')
        with open(classes, encoding='utf-8') as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        names = [str(c) for c in classes]
    if not names:
        raise ValueError('classes is empty')
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f'duplicate class names: {_named(duplicates)}')
    return names


@DATASETS.register_module()
class ImageNetDataset(BaseDataset):
    """ImageNet / image-folder classification dataset.

    ``data_list`` items are ``dict(img_path=str, gt_label=int)`` and
    ``metainfo['classes']`` is the tuple of class names (``None`` only when
    an ``ann_file`` is given without ``classes``: the label file holds no
    names).

    Args:
        data_root (str): Root that relative ``ann_file`` and
            ``data_prefix['img_path']`` are joined onto. Default: ''.
        data_prefix (str | dict): Image folder, as ``dict(img_path=...)`` or
            a plain string. Default: ``dict(img_path='')``.
        ann_file (str): Optional label file (``path label`` per line). When
            empty the image folder must hold class folders. Default: ''.
        classes (str | Sequence[str], optional): Class names, in label
            order, or the path of a text file of them (one per line; the path
            is used as given, not joined with ``data_root``). With class
            folders it selects and orders the folders to use (other folders
            are ignored); with ``ann_file`` it enables the label range check.
            Overrides ``metainfo['classes']``. Default: None: all folders,
            sorted.
        extensions (Sequence[str]): Accepted image extensions, matched
            case-insensitively. Default: jpg, jpeg, png and bmp.
        metainfo (dict, optional): Extra meta information; may carry
            ``classes`` instead of the argument above.
        pipeline (Sequence): Transforms, as configs or callables.
        test_mode (bool): Passed to :class:`mmengine.dataset.BaseDataset`.
        **kwargs: Other :class:`~mmengine.dataset.BaseDataset` arguments
            (``indices``, ``lazy_init``, ``serialize_data``, ...).
    """

    METAINFO: dict = dict(classes=None)

    def __init__(self,
                 data_root: str = '',
                 data_prefix: Union[str, Dict[str, str]] = dict(img_path=''),
                 ann_file: str = '',
                 classes: Union[str, Sequence[str], None] = None,
                 extensions: Sequence[str] = IMG_EXTENSIONS,
                 metainfo: Optional[dict] = None,
                 pipeline: Sequence = (),
                 test_mode: bool = False,
                 **kwargs) -> None:
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        if set(data_prefix) != {'img_path'}:
            raise KeyError('data_prefix must be a str or dict(img_path=...), '
                           f'got keys {sorted(data_prefix)}')
        self.extensions = tuple(e.lower() if e.startswith('.') else
                                '.' + e.lower() for e in extensions)
        metainfo = dict(metainfo or {})
        if classes is not None:
            metainfo['classes'] = classes
        if isinstance(metainfo.get('classes'), str):
            # Read here, not by BaseDataset, which would silently keep an
            # unreadable path as a single class name.
            metainfo['classes'] = _read_class_names(metainfo['classes'])
        super().__init__(
            ann_file=ann_file,
            metainfo=metainfo,
            data_root=data_root,
            data_prefix=data_prefix,
            pipeline=list(pipeline),
            test_mode=test_mode,
            **kwargs)

    @property
    def img_dir(self) -> str:
        """The image folder after joining with ``data_root``."""
        return self.data_prefix['img_path']

    def load_data_list(self) -> List[dict]:
        """Scan the folder (or read ``ann_file``) into the data list.

        Returns:
            list[dict]: ``dict(img_path=..., gt_label=...)`` per image.
        """
        img_dir = self.img_dir
        if not img_dir or not osp.isdir(img_dir):
            raise FileNotFoundError(
                f'image folder {img_dir!r} does not exist (data_root='
                f'{self.data_root!r}, data_prefix={self.data_prefix!r})')
        given = self._metainfo.get('classes')
        names = _read_class_names(given) if given is not None else None
        if self.ann_file:
            data_list = self._load_ann_file(img_dir, names)
        else:
            names, data_list = self._scan_class_folders(img_dir, names)
        self._metainfo['classes'] = tuple(names) if names else None
        return data_list

    def _scan_class_folders(
            self, img_dir: str,
            names: Optional[List[str]]) -> Tuple[List[str], List[dict]]:
        folders = find_class_folders(img_dir)
        if not folders:
            raise ValueError(
                f'no class folders found in {img_dir!r} and no ann_file '
                'given; expected <img_dir>/<class>/<image> or an ann_file')
        if names is None:
            names = folders
        else:
            present = set(folders)
            unknown = [n for n in names if n not in present]
            if unknown:
                raise ValueError(
                    f'{len(unknown)} of the given classes have no folder in '
                    f'{img_dir!r}: {_named(unknown)}')
        data_list, empty = [], []
        for label, name in enumerate(names):
            paths = scan_images(osp.join(img_dir, name), self.extensions)
            if not paths:
                empty.append(name)
            data_list.extend(dict(img_path=p, gt_label=label) for p in paths)
        if empty:
            raise ValueError(
                f'{len(empty)} class folder(s) in {img_dir!r} hold no images '
                f'with extensions {self.extensions}: {_named(empty)}')
        return names, data_list

    def _load_ann_file(self, img_dir: str,
                       names: Optional[List[str]]) -> List[dict]:
        if not osp.isfile(self.ann_file):
            raise FileNotFoundError(
                f'ann_file {self.ann_file!r} does not exist')
        data_list, missing, out_of_range = [], [], []
        with open(self.ann_file, encoding='utf-8') as f:
            for line_no, line in enumerate(f, 1):
                if not line.strip():
                    continue
                data_list.append(
                    self._parse_ann_line(line, line_no, img_dir))
        for item in data_list:
            if not osp.isfile(item['img_path']):
                missing.append(item['img_path'])
            label = item['gt_label']
            if label < 0 or (names is not None and label >= len(names)):
                out_of_range.append(label)
        if not data_list:
            raise ValueError(f'ann_file {self.ann_file!r} lists no images')
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} image(s) listed in {self.ann_file!r} do not '
                f'exist: {_named(missing)}')
        if out_of_range:
            bound = f'[0, {len(names)})' if names is not None else '>= 0'
            raise ValueError(
                f'{len(out_of_range)} label(s) in {self.ann_file!r} are out '
                f'of range {bound}: '
                f'{_named([str(x) for x in sorted(set(out_of_range))])}')
        return data_list

    def _parse_ann_line(self, line: str, line_no: int, img_dir: str) -> dict:
        # rsplit: file names may contain spaces, the label never does.
        parts = line.strip().rsplit(maxsplit=1)
        try:
            if len(parts) != 2:
                raise ValueError
            label = int(parts[1])
        except ValueError:
            raise ValueError(
                f'{self.ann_file}:{line_no}: expected "<filename> '
                f'<label index>", got {line.strip()!r}') from None
        return dict(img_path=osp.join(img_dir, parts[0]), gt_label=label)

    def get_cat_ids(self, idx: int) -> List[int]:
        """The label of sample ``idx`` as a one-element list.

        Used by class-balanced samplers and ``ClassBalancedDataset``.

        Args:
            idx (int): Sample index.

        Returns:
            list[int]: ``[gt_label]``.
        """
        return [int(self.get_data_info(idx)['gt_label'])]

    def __repr__(self) -> str:
        classes = self._metainfo.get('classes')
        num_classes = len(classes) if classes else 'unknown'
        length = len(self) if self._fully_initialized else 'not loaded'
        return (f'{self.__class__.__name__}(img_dir={self.img_dir!r}, '
                f'ann_file={self.ann_file!r}, num_classes={num_classes}, '
                f'num_samples={length})')
