"""mmseg's ``EncoderDecoder`` with onnxruntime doing the network forward.

Everything around the network stays mmseg's own: the data pre-processor,
whole and slide inference, resizing the logits to the image
(``decode_head.predict_by_feat``) and the metrics of the test loop. So an
exported fp32 or INT8 file is evaluated exactly as a PyTorch checkpoint is:
``tools/test.py CONFIG model.onnx``.
"""
import copy
import os
from typing import List, Union

import torch
from mmseg.models import EncoderDecoder
from mmseg.registry import MODELS
from torch import Tensor, nn

from .onnx import META_CONFIG, OnnxInputSizeError
from .ort import ort_metadata, ort_run, ort_session

PathLike = Union[str, os.PathLike]


@MODELS.register_module()
class ONNXEncoderDecoder(EncoderDecoder):
    """An ``EncoderDecoder`` whose ``encode_decode`` runs an ONNX file.

    The file is one written by :func:`repvgg_seg.export.export_segmentor`
    (fp32) or by the INT8 quantizer: normalised images in, logits out, at
    the head's stride or resized to the input. The config's backbone and
    auxiliary head are not built (the file replaces them); the decode head
    is kept for its post-processing settings (``align_corners``,
    ``num_classes``, ``threshold``). onnxruntime runs on torch's thread count.

    Args:
        onnx_file (str | PathLike): The exported model.
        **kwargs: The ``EncoderDecoder`` config it was exported from.
    """

    def __init__(self, onnx_file: PathLike, **kwargs) -> None:
        kwargs.update(backbone=dict(type=nn.Identity), auxiliary_head=None,
                      pretrained=None)
        super().__init__(**kwargs)
        self.onnx_file = os.fspath(onnx_file)
        self.session = ort_session(self.onnx_file)
        shape = self.session.get_inputs()[0].shape
        self.input_hw = tuple(d if isinstance(d, int) else None for d in shape[2:])
        classes = self.session.get_outputs()[0].shape[1]
        if isinstance(classes, int) and classes != self.decode_head.out_channels:
            source = ort_metadata(self.session).get(META_CONFIG) or 'another config'
            raise ValueError(
                f'{self.onnx_file} predicts {classes} classes, but this config\'s '
                f'decode head has {self.decode_head.out_channels}: it was '
                f'exported from {source}. Test it with that config.')

    def _check_size(self, inputs: Tensor) -> None:
        hw = tuple(inputs.shape[2:])
        if all(d is None or d == s for d, s in zip(self.input_hw, hw)):
            return
        exported = 'x'.join(str(d) for d in self.input_hw)
        raise OnnxInputSizeError(
            f'{self.onnx_file} was exported for {exported} inputs only, but the '
            f'test pipeline gives {hw[0]}x{hw[1]} (after resizing and padding; '
            'with slide inference, the crop). Export again without '
            f'--static-shape (free height and width), or with --shape {hw[0]} '
            f'{hw[1]}.')

    def encode_decode(self, inputs: Tensor, batch_img_metas: List[dict]) -> Tensor:
        self._check_size(inputs)
        logits = torch.from_numpy(ort_run(self.session, inputs)).to(inputs.device)
        return self.decode_head.predict_by_feat(logits, batch_img_metas)

    def extract_feat(self, inputs: Tensor):
        raise NotImplementedError(
            'ONNXEncoderDecoder runs the exported network as a whole; it has '
            'no backbone features (it is for testing and inference only)')

    def loss(self, inputs, data_samples):
        raise NotImplementedError('an ONNX model cannot be trained')


def onnx_model_cfg(model_cfg: dict, onnx_file: PathLike) -> dict:
    """``cfg.model`` turned into an :class:`ONNXEncoderDecoder` config.

    Raises:
        ValueError: The config's model is not a plain ``EncoderDecoder``.
    """
    if model_cfg.get('type') != 'EncoderDecoder':
        raise ValueError(
            f"ONNX models replace an EncoderDecoder's network; this config's "
            f"model is {model_cfg.get('type')!r}")
    model_cfg = copy.deepcopy(dict(model_cfg))
    model_cfg.update(type='ONNXEncoderDecoder', onnx_file=os.fspath(onnx_file))
    return model_cfg
