"""Segmenting one's own images, folders and videos (``tools/infer.py``)."""
from .model import BACKENDS, build_onnx_segmentor, load_inference_model
from .segment import InferenceSummary, Segmenter, train_id_to_label_id
from .sources import (IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, InputError, Source,
                      VideoFrames, collect_sources, read_image)

__all__ = [
    'BACKENDS', 'IMAGE_EXTENSIONS', 'InferenceSummary', 'InputError',
    'Segmenter', 'Source', 'VIDEO_EXTENSIONS', 'VideoFrames',
    'build_onnx_segmentor', 'collect_sources', 'load_inference_model', 'read_image',
    'train_id_to_label_id'
]
