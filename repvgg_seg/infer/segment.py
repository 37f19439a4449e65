"""Segmenting images and videos with a loaded segmentor, writing what it finds.

Pre-processing, whole/slide inference and resizing back to the image are
mmseg's own (``mmseg.apis.inference_model``); overlays are drawn by mmseg's
``SegLocalVisualizer``. This module only walks the inputs and writes files:
for an image ``NAME`` a label map ``labels/NAME.png`` (trainIds, or
Cityscapes labelIds) and an overlay ``overlays/NAME.png``; for a video
``NAME_overlay.mp4``.
"""
import os
import os.path as osp
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmseg.apis import inference_model
from mmseg.visualization import SegLocalVisualizer
from torch import nn

from .sources import InputError, Source, VideoFrames, read_image


def train_id_to_label_id() -> np.ndarray:
    """A 256-entry lookup table from Cityscapes trainIds to labelIds
    (cityscapesscripts' table; unknown values map to 0, 'unlabeled')."""
    from cityscapesscripts.helpers.labels import labels
    table = np.zeros(256, dtype=np.uint8)
    for label in labels:
        if 0 <= label.trainId < 255:
            table[label.trainId] = label.id
    return table


@dataclass
class InferenceSummary:
    """What a run did.

    Attributes:
        images (int): Images segmented.
        frames (int): Video frames segmented.
        seconds (float): Wall time of reading, segmenting and writing.
        failed (list[str]): One line per input that could not be read.
        written (list[str]): Files written.
    """

    images: int = 0
    frames: int = 0
    seconds: float = 0.0
    failed: List[str] = field(default_factory=list)
    written: List[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        done = self.images + self.frames
        return done / self.seconds if self.seconds else 0.0


class _Progress:
    """A bar on a terminal; a line every tenth of the work in a log."""

    def __init__(self, total: int, stream=None) -> None:
        stream = stream or sys.stderr  # the current one, not the one at import
        self.total, self.done, self.stream = max(total, 1), 0, stream
        self.start = time.perf_counter()
        self.tty = stream.isatty()

    def step(self) -> None:
        self.done += 1
        rate = self.done / max(time.perf_counter() - self.start, 1e-9)
        if self.tty:
            width = 30
            filled = int(width * min(self.done / self.total, 1))
            self.stream.write(f'\r[{"#" * filled}{"." * (width - filled)}] '
                              f'{self.done}/{self.total}, {rate:.2f}/s')
            self.stream.flush()
        elif self.done == self.total or self.done % max(self.total // 10, 1) == 0:
            print(f'{self.done}/{self.total} done, {rate:.2f}/s', file=self.stream,
                  flush=True)

    def close(self) -> None:
        if self.tty:
            self.stream.write('\n')


class Segmenter:
    """Segment images and videos with ``model`` and write the results.

    Args:
        model (nn.Module): A segmentor with ``cfg`` and ``dataset_meta`` (from
            :func:`repvgg_seg.apis.init_segmentor`, or the onnxruntime one).
        out_dir (str): Where to write.
        label_ids (bool): Write Cityscapes labelIds instead of trainIds.
        opacity (float): Opacity of the colour overlay.
    """

    def __init__(self, model: nn.Module, out_dir: str, label_ids: bool = False,
                 opacity: float = 0.5) -> None:
        self.model = model
        self.out_dir = out_dir
        classes = model.dataset_meta.get('classes') or ()
        self.lookup: Optional[np.ndarray] = None
        if label_ids:
            if len(classes) != 19:
                raise ValueError(
                    f'--label-ids writes Cityscapes labelIds, which needs the 19 '
                    f'Cityscapes classes; this model has {len(classes)}')
            self.lookup = train_id_to_label_id()
        self.visualizer = SegLocalVisualizer(
            name=f'repvgg_seg_infer_{id(self)}', alpha=opacity)
        self.visualizer.set_dataset_meta(classes=list(classes),
                                         palette=model.dataset_meta.get('palette'))

    def predict(self, image: np.ndarray):
        """mmseg's prediction (``SegDataSample``) for a BGR image."""
        return inference_model(self.model, image)

    def label_map(self, result) -> np.ndarray:
        """The predicted classes at the image's size, ``uint8``."""
        labels = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
        return self.lookup[labels] if self.lookup is not None else labels

    def overlay(self, image: np.ndarray, result) -> np.ndarray:
        """The prediction painted over the image (BGR)."""
        self.visualizer.add_datasample(
            'overlay', mmcv.bgr2rgb(image), data_sample=result, draw_gt=False,
            with_labels=False, show=False)
        return mmcv.rgb2bgr(self.visualizer.get_image())

    def _write(self, path: str, image: np.ndarray, summary: InferenceSummary) -> None:
        os.makedirs(osp.dirname(path), exist_ok=True)
        if not cv2.imwrite(path, image):
            raise OSError(f'could not write {path}')
        summary.written.append(path)

    def _image(self, source: Source, summary: InferenceSummary,
               progress: _Progress) -> None:
        image = read_image(source.path)
        result = self.predict(image)
        self._write(osp.join(self.out_dir, 'labels', source.name + '.png'),
                    self.label_map(result), summary)
        self._write(osp.join(self.out_dir, 'overlays', source.name + '.png'),
                    self.overlay(image, result), summary)
        summary.images += 1
        progress.step()

    def _video(self, frames: VideoFrames, source: Source,
               summary: InferenceSummary, progress: _Progress) -> None:
        path = osp.join(self.out_dir, source.name + '_overlay.mp4')
        os.makedirs(self.out_dir, exist_ok=True)
        writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), frames.fps,
                                 frames.size)
        if not writer.isOpened():
            raise OSError(f'could not open {path} for writing (mp4v codec)')
        try:
            for frame in frames:
                writer.write(self.overlay(frame, self.predict(frame)))
                summary.frames += 1
                progress.step()
        finally:
            writer.release()
        summary.written.append(path)

    def run(self, sources: Sequence[Source],
            report: Callable[[str], None] = print) -> InferenceSummary:
        """Segment every source; an unreadable one is reported and skipped.

        Returns:
            InferenceSummary: Counts, time, failures and files written.
        """
        summary = InferenceSummary()
        videos = {}
        for source in sources:
            if source.kind == 'video':
                try:
                    videos[source.path] = VideoFrames(source.path)
                except InputError as err:
                    summary.failed.append(str(err))
                    report(f'error: {err}; skipped')
        total = sum(s.kind == 'image' for s in sources) + sum(
            v.count for v in videos.values())
        progress = _Progress(total)
        start = time.perf_counter()
        try:
            for source in sources:
                try:
                    if source.kind == 'image':
                        self._image(source, summary, progress)
                    elif source.path in videos:
                        self._video(videos[source.path], source, summary, progress)
                except (InputError, ValueError, OSError, RuntimeError) as err:
                    # Unreadable input, an ONNX file of another size,
                    # a failed write: this input is lost, the others still run.
                    summary.failed.append(f'{source.path}: {err}')
                    report(f'error: {source.path}: {type(err).__name__}: {err}; '
                           'skipped')
        finally:
            progress.close()
        summary.seconds = time.perf_counter() - start
        return summary
