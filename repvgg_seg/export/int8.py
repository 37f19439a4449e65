"""INT8 post-training quantization of an exported model with onnxruntime.

Static quantization in QDQ form: per-channel symmetric int8 weights and
asymmetric uint8 activations (the fast path of onnxruntime's x86 kernels),
activation ranges calibrated on batches of real network inputs. Pyramid
pooling's slices and means stay in float (nothing to gain, and its bins are
exact only there).
"""
import os
import tempfile
from typing import Iterable, List, Optional, Union

import numpy as np

PathLike = Union[str, os.PathLike]
METHODS = ('minmax', 'entropy', 'percentile')
# Ops whose int8 kernels pay off; pooling, resize and concat stay float.
QUANTIZED_OPS = ('Conv', 'MatMul', 'Gemm')


class CalibrationError(ValueError):
    """There is nothing to calibrate on (the message says where it looked)."""


class _Batches:
    """onnxruntime's ``CalibrationDataReader`` protocol over a list of arrays."""

    def __init__(self, input_name: str, batches: List[np.ndarray]) -> None:
        self.input_name = input_name
        self.batches = batches
        self.index = 0

    def get_next(self) -> Optional[dict]:
        if self.index >= len(self.batches):
            return None
        self.index += 1
        return {self.input_name: self.batches[self.index - 1]}

    def rewind(self) -> None:
        self.index = 0


def quantize_onnx(fp32_path: PathLike, int8_path: PathLike,
                  batches: Iterable[np.ndarray], method: str = 'minmax',
                  per_channel: bool = True) -> str:
    """Write an INT8 QDQ model calibrated on ``batches``.

    Args:
        fp32_path (str | PathLike): The float model
            (:func:`repvgg_seg.export.export_segmentor`).
        int8_path (str | PathLike): Where to write the INT8 model.
        batches (Iterable[ndarray]): Network inputs ``(N, 3, H, W)`` float32,
            normalised as at test time; sizes may differ if the model's
            height and width are free.
        method (str): Activation-range calibration: ``'minmax'``,
            ``'entropy'`` or ``'percentile'`` (99.999th). Default: 'minmax'.
        per_channel (bool): One weight scale per output channel.
            Default: True.

    Returns:
        str: ``int8_path``.

    Raises:
        CalibrationError: ``batches`` is empty.
        ValueError: Unknown ``method``.
    """
    import onnx
    from onnxruntime.quantization import (CalibrationMethod, QuantFormat,
                                          QuantType, quant_pre_process,
                                          quantize_static)
    if method not in METHODS:
        raise ValueError(f'method must be one of {", ".join(METHODS)}, got {method!r}')
    batches = [np.ascontiguousarray(b, dtype=np.float32) for b in batches]
    if not batches:
        raise CalibrationError('no calibration batches')
    fp32_path, int8_path = os.fspath(fp32_path), os.fspath(int8_path)
    input_name = onnx.load(fp32_path, load_external_data=False).graph.input[0].name
    calibrate = {'minmax': CalibrationMethod.MinMax,
                 'entropy': CalibrationMethod.Entropy,
                 'percentile': CalibrationMethod.Percentile}[method]
    os.makedirs(os.path.dirname(os.path.abspath(int8_path)), exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        # Shape inference and graph clean-up first, as onnxruntime advises
        # for QDQ models: it lets the quantizer see every tensor's type.
        prepared = os.path.join(scratch, 'prepared.onnx')
        quant_pre_process(fp32_path, prepared, skip_symbolic_shape=True)
        quantize_static(
            prepared, int8_path, _Batches(input_name, batches),
            quant_format=QuantFormat.QDQ, op_types_to_quantize=list(QUANTIZED_OPS),
            per_channel=per_channel, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=calibrate,
            extra_options=dict(WeightSymmetric=True, ActivationSymmetric=False,
                               CalibMovingAverage=False))
    return int8_path
