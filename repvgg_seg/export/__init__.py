"""Export of deployed segmentors (ONNX, checked with onnxruntime)."""
from .onnx import (DEFAULT_OPSET, ExportResult, OnnxInputSizeError,
                   check_onnx, export_onnx, export_segmentor, ort_run,
                   ort_session)

__all__ = [
    'DEFAULT_OPSET', 'ExportResult', 'OnnxInputSizeError', 'check_onnx', 'export_onnx',
    'export_segmentor', 'ort_run', 'ort_session'
]
