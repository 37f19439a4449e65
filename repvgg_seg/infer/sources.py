"""What ``tools/infer.py`` reads: an image, a folder of images, or a video."""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Iterator, List, Tuple

import cv2
import mmcv
import numpy as np

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.tif', '.tiff', '.webp')
VIDEO_EXTENSIONS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg',
                    '.mpeg')


class InputError(ValueError):
    """An input file cannot be read (the message names it)."""


@dataclass(frozen=True)
class Source:
    """One input file.

    Attributes:
        path (str): The file.
        name (str): Its path relative to the input folder, without the
            extension (the output files' name).
        kind (str): ``'image'`` or ``'video'``.
    """

    path: str
    name: str
    kind: str


def _kind(path: str) -> str:
    ext = osp.splitext(path)[1].lower()
    if ext in IMAGE_EXTENSIONS:
        return 'image'
    if ext in VIDEO_EXTENSIONS:
        return 'video'
    return ''


def collect_sources(path: str) -> List[Source]:
    """The images and videos at ``path``: one file, or a folder searched
    recursively for the usual image extensions (videos in a folder are left
    out: name a video file to segment it).

    Raises:
        FileNotFoundError: Nothing exists at ``path``.
        InputError: The file is neither an image nor a video by its
            extension, or the folder holds no image.
    """
    if osp.isfile(path):
        kind = _kind(path)
        if not kind:
            raise InputError(
                f'{path}: not an image ({", ".join(IMAGE_EXTENSIONS)}) or a '
                f'video ({", ".join(VIDEO_EXTENSIONS)}) by its extension')
        return [Source(path, osp.splitext(osp.basename(path))[0], kind)]
    if not osp.isdir(path):
        raise FileNotFoundError(f'input not found: {path}')
    sources = []
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for file in sorted(files):
            full = osp.join(root, file)
            if _kind(full) == 'image':
                name = osp.splitext(osp.relpath(full, path))[0]
                sources.append(Source(full, name, 'image'))
    if not sources:
        raise InputError(f'{path}: no image files ({", ".join(IMAGE_EXTENSIONS)}) '
                         'in this folder or below it')
    # a.png and a.jpg would both write labels/a.png: keep their extensions.
    names = [s.name for s in sources]
    return [Source(s.path, osp.relpath(s.path, path), s.kind)
            if names.count(s.name) > 1 else s for s in sources]


def read_image(path: str) -> np.ndarray:
    """The image as BGR ``uint8`` (what mmseg's ``LoadImageFromFile`` gives).

    Raises:
        InputError: The file cannot be decoded.
    """
    try:
        image = mmcv.imread(path, channel_order='bgr')
    except Exception as err:  # cv2/mmcv raise several types for bad files
        raise InputError(f'{path}: cannot read the image ({err})') from err
    if image is None:
        raise InputError(f'{path}: cannot decode the image (corrupt, or not '
                         'an image format OpenCV reads)')
    return image




class VideoFrames:
    """The frames of a video file, BGR ``uint8``, with its frame rate and size.

    Raises:
        InputError: OpenCV cannot open or decode the file.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self.capture = cv2.VideoCapture(path)
        ok, first = self.capture.read() if self.capture.isOpened() else (False, None)
        if not ok:
            self.capture.release()
            raise InputError(f'{path}: cannot read the video (corrupt, or a '
                             'codec this OpenCV build lacks)')
        self.first = first
        self.fps = self.capture.get(cv2.CAP_PROP_FPS) or 25.0
        self.size: Tuple[int, int] = (first.shape[1], first.shape[0])
        self.count = int(self.capture.get(cv2.CAP_PROP_FRAME_COUNT)) or 0

    def __iter__(self) -> Iterator[np.ndarray]:
        try:
            yield self.first
            while True:
                ok, frame = self.capture.read()
                if not ok:
                    return
                yield frame
        finally:
            self.capture.release()
