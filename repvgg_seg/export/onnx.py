"""ONNX export of a deployed segmentor, checked against onnxruntime.

The graph is mmseg's ``EncoderDecoder._forward`` path of the *deployed* model
(every RepVGG block one 3x3 conv, every conv+BN pair fused): backbone, neck if
any, decode head; no auxiliary head, no data pre-processor, no arg-max. Its
input is a normalised float32 batch ``(N, 3, H, W)`` (mean/std subtracted,
RGB order, as after ``SegDataPreProcessor``); its output ``logits`` is
``(N, num_classes, H, W)``: bilinearly resized to the input size like
``encode_decode`` does, or, with ``resize_to_input=False``, at the decode
head's stride (1/8 for the Table 8 PSPNets). Batch, ``H`` and ``W`` stay
free by default, or are fixed to the example's; any size works either way
(pyramid pooling is written out exactly, see :mod:`.pooling`). The file
records in its metadata the config it came from and whether the logits are
at input size or at the head's stride, and states the class count, so the
onnxruntime segmentor (:mod:`.ort_segmentor`) can refuse a file of another
config; either kind of logits post-processes as mmseg does (resized to the
image by the decode head).
"""
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import torch
from torch import Tensor, nn

from repvgg_seg.apis import ErrorCheck, SegmentorForward
from .ort import check_onnx, ort_session
from .pooling import exportable_pooling

PathLike = Union[str, os.PathLike]
DEFAULT_OPSET = 17
INPUT_NAME = 'input'
OUTPUT_NAME = 'logits'


class OnnxInputSizeError(ValueError):
    """An input does not have the size an ONNX graph was exported for."""


# Keys of the metadata written into every exported file.
META_OUTPUT = 'repvgg_seg.logits'  # 'input' (resized to input) or 'head'
META_CONFIG = 'repvgg_seg.config'


def export_onnx(model: nn.Module,
                inputs: Tensor,
                path: PathLike,
                opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = True,
                dynamic_shape: bool = True) -> str:
    """Write ``model(inputs)`` as an ONNX graph.

    Args:
        model (nn.Module): ``Tensor -> Tensor`` model in eval mode, e.g. a
            :class:`SegmentorForward` of a deployed segmentor.
        inputs (Tensor): An example batch.
        path (str | PathLike): Output ``.onnx`` file.
        opset (int): ONNX opset. Default: 17 (runs on onnxruntime >= 1.13).
        dynamic_batch (bool): Leave the batch dimension free. Default: True.
        dynamic_shape (bool): Leave height and width free (one file for
            whole images, slide crops and any resolution). False fixes them
            to the example's. Default: True.

    Returns:
        str: ``path``.

    Adaptive average pools are exported through
    :class:`~.pooling.ExactAdaptiveAvgPool2d`, so any input size works, and
    with free height and width the bins are computed in the graph.
    """
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    free = {0: 'batch'} if dynamic_batch else {}
    if dynamic_shape:
        free.update({2: 'height', 3: 'width'})
    axes = {INPUT_NAME: free, OUTPUT_NAME: dict(free)} if free else None
    with warnings.catch_warnings():
        # The torch.export-based exporter needs onnxscript, which this
        # project does not depend on; the TorchScript exporter is the
        # deliberate choice, so its deprecation notice is noise here.
        warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX')
        warnings.filterwarnings('ignore', message='.*will be removed.*')
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        with torch.no_grad(), exportable_pooling(model):
            torch.onnx.export(
                model, (inputs, ), path, dynamo=False, opset_version=opset,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_axes=axes, do_constant_folding=True)
    return path


@dataclass
class ExportResult:
    """What :func:`export_segmentor` wrote and how well it matched.

    Attributes:
        path (str): The ONNX file.
        input_shape (tuple): Example input ``(N, 3, H, W)``.
        output_shape (tuple): Logits shape for that input.
        opset (int): ONNX opset.
        check (ErrorCheck): onnxruntime against PyTorch.
    """

    path: str
    input_shape: Tuple[int, ...]
    output_shape: Tuple[int, ...]
    opset: int
    check: ErrorCheck


def annotate_onnx(path: PathLike, props: dict,
                  num_classes: Optional[int] = None) -> None:
    """Add ``key: value`` strings to an ONNX file's ``metadata_props`` and,
    given ``num_classes``, state the logits' class dimension (the exporter
    leaves it symbolic after a resize), so a reader can check it."""
    import onnx
    model = onnx.load(os.fspath(path))
    existing = {p.key: p for p in model.metadata_props}
    for key, value in props.items():
        prop = existing.get(key) or model.metadata_props.add()
        prop.key, prop.value = key, str(value)
    if num_classes is not None:
        model.graph.output[0].type.tensor_type.shape.dim[1].dim_value = num_classes
    onnx.save(model, os.fspath(path))


def export_segmentor(segmentor: nn.Module,
                     path: PathLike,
                     input_shape: Sequence[int] = (1, 3, 713, 713),
                     resize_to_input: bool = True,
                     opset: int = DEFAULT_OPSET,
                     dynamic_batch: bool = True,
                     dynamic_shape: bool = True,
                     seed: int = 0,
                     config: str = '') -> ExportResult:
    """Export a deployed segmentor and check onnxruntime against PyTorch.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` on the CPU, in eval
            mode, already converted with
            :func:`repvgg_seg.deploy.switch_to_deploy`.
        path (str | PathLike): Output ``.onnx`` file.
        input_shape (Sequence[int]): ``(N, 3, H, W)`` of the example input;
            height and width are free unless ``dynamic_shape=False``. Default:
            ``(1, 3, 713, 713)``.
        resize_to_input (bool): Logits at input resolution (as
            ``encode_decode``); False keeps the head's 1/8. Default: True.
        opset (int): ONNX opset. Default: 17.
        dynamic_batch (bool): Leave the batch size free. Default: True.
        dynamic_shape (bool): Leave height and width free. Default: True.
        seed (int): Seed of the random check input. Default: 0.
        config (str): The config it came from, recorded in the metadata.

    Returns:
        ExportResult: File, shapes, opset and the onnxruntime check.
    """
    wrapper = SegmentorForward(segmentor, resize_to_input=resize_to_input).eval()
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(*input_shape, generator=gen)
    with torch.no_grad():
        reference = wrapper(inputs)
    export_onnx(wrapper, inputs, path, opset=opset, dynamic_batch=dynamic_batch,
                dynamic_shape=dynamic_shape)
    annotate_onnx(path, {META_OUTPUT: 'input' if resize_to_input else 'head',
                         META_CONFIG: config}, num_classes=reference.shape[1])
    check = check_onnx(ort_session(path), inputs, reference)
    return ExportResult(path=os.fspath(path), input_shape=tuple(inputs.shape),
                        output_shape=tuple(reference.shape), opset=opset,
                        check=check)
