"""Export of deployed segmentors (ONNX at any input size, checked with
onnxruntime) and running the exported files."""
from .onnx import (DEFAULT_OPSET, ExportResult, OnnxInputSizeError,
                   export_onnx, export_segmentor)
from .ort import check_onnx, ort_metadata, ort_run, ort_session
from .ort_segmentor import ONNXEncoderDecoder, onnx_model_cfg
from .pooling import ExactAdaptiveAvgPool2d, exportable_pooling

__all__ = [
    'DEFAULT_OPSET', 'ExactAdaptiveAvgPool2d', 'ExportResult', 'ONNXEncoderDecoder',
    'OnnxInputSizeError', 'check_onnx', 'export_onnx', 'export_segmentor',
    'exportable_pooling', 'onnx_model_cfg', 'ort_metadata', 'ort_run',
    'ort_session'
]
