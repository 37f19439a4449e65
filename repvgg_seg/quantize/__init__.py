"""INT8 post-training quantization of a trained segmentor, scored and timed
against its fp32 export (``tools/quantize.py``)."""
from .calibration import calibration_images, network_inputs
from .run import QuantizeReport, evaluate_onnx, quantize_config

__all__ = ['QuantizeReport', 'calibration_images', 'evaluate_onnx',
           'network_inputs', 'quantize_config']
