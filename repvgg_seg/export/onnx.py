"""ONNX export of a deployed segmentor, checked against onnxruntime.

The graph is mmseg's ``EncoderDecoder._forward`` path of the *deployed* model
(every RepVGG block one 3x3 conv, every conv+BN pair fused): backbone, neck if
any, decode head; no auxiliary head, no data pre-processor, no arg-max. Its
input is a normalised float32 batch ``(N, 3, H, W)`` (mean/std subtracted,
RGB order, as after ``SegDataPreProcessor``); its output ``logits`` is
``(N, num_classes, H, W)``: bilinearly resized to the input size like
``encode_decode`` does, or, with ``resize_to_input=False``, at the decode
head's stride (1/8 for the Table 8 PSPNets). ``H`` and ``W`` are fixed at
export time (pyramid pooling becomes fixed-size average pooling); the batch
size may vary.
"""
import os
import warnings
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple, Union

import numpy as np
import torch
from torch import Tensor, nn

from repvgg_seg.benchmark.fast_modes import TOLERANCES, ErrorCheck, check_output
from repvgg_seg.benchmark.segmentor import SegmentorForward

PathLike = Union[str, os.PathLike]
DEFAULT_OPSET = 17
INPUT_NAME = 'input'
OUTPUT_NAME = 'logits'


class OnnxInputSizeError(ValueError):
    """The input size cannot be expressed in ONNX for this model."""


def _pooling_problems(model: nn.Module, inputs: Tensor) -> Sequence[str]:
    """Adaptive pools whose output size does not divide their input size.

    The TorchScript exporter writes ``AdaptiveAvgPool2d`` as a plain
    ``AveragePool`` and refuses sizes it cannot express that way.
    """
    problems = []
    handles = []
    for name, module in model.named_modules():
        if isinstance(module, nn.AdaptiveAvgPool2d):

            def hook(mod, args, _out, name=name):
                size = mod.output_size
                size = (size, size) if isinstance(size, int) else tuple(size)
                h, w = args[0].shape[-2:]
                if (size[0] and h % size[0]) or (size[1] and w % size[1]):
                    problems.append(f'{name}: {h}x{w} features into {size} bins')

            handles.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return problems


def export_onnx(model: nn.Module,
                inputs: Tensor,
                path: PathLike,
                opset: int = DEFAULT_OPSET,
                dynamic_batch: bool = True) -> str:
    """Write ``model(inputs)`` as an ONNX graph.

    Args:
        model (nn.Module): ``Tensor -> Tensor`` model in eval mode, e.g. a
            :class:`SegmentorForward` of a deployed segmentor.
        inputs (Tensor): An example batch; fixes the spatial size.
        path (str | PathLike): Output ``.onnx`` file.
        opset (int): ONNX opset. Default: 17 (runs on onnxruntime >= 1.13).
        dynamic_batch (bool): Leave the batch dimension free. Default: True.

    Returns:
        str: ``path``.

    Raises:
        OnnxInputSizeError: The input size leaves a pyramid-pooling layer with a
            feature size its bins do not divide (ONNX cannot express it).
    """
    problems = _pooling_problems(model, inputs)
    if problems:
        raise OnnxInputSizeError(
            'ONNX has no adaptive pooling: every pyramid-pooling bin count must '
            'divide the feature size. With output stride 8 and bins (1, 2, 3, 6) '
            'pick an input whose stride-8 feature size is a multiple of 6 (e.g. '
            '713 -> 90, 96 -> 12). Offending layers: ' + '; '.join(problems))
    path = os.fspath(path)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    axes = None
    if dynamic_batch:
        axes = {INPUT_NAME: {0: 'batch'}, OUTPUT_NAME: {0: 'batch'}}
    with warnings.catch_warnings():
        # The torch.export-based exporter needs onnxscript, which this
        # project does not depend on; the TorchScript exporter is the
        # deliberate choice, so its deprecation notice is noise here.
        warnings.filterwarnings('ignore', message='.*legacy TorchScript-based ONNX')
        warnings.filterwarnings('ignore', message='.*will be removed.*')
        warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
        with torch.no_grad():
            torch.onnx.export(
                model, (inputs, ), path, dynamo=False, opset_version=opset,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_axes=axes, do_constant_folding=True)
    return path


def ort_session(path: PathLike, threads: Optional[int] = None):
    """An onnxruntime CPU session.

    Args:
        path (str | PathLike): ONNX file.
        threads (int, optional): Intra-op threads; default: torch's count, so
            onnxruntime and PyTorch compete on equal terms.

    Returns:
        onnxruntime.InferenceSession: The session.
    """
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(os.fspath(path), options,
                                providers=['CPUExecutionProvider'])


def ort_run(session, inputs: Union[Tensor, np.ndarray]) -> np.ndarray:
    """Run the session's single input and return its first output."""
    if isinstance(inputs, Tensor):
        inputs = inputs.detach().cpu().float().numpy()
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.ascontiguousarray(inputs)})[0]


def check_onnx(session, inputs: Tensor, reference: Tensor,
               tolerance: float = TOLERANCES['fp32']) -> ErrorCheck:
    """onnxruntime logits against the PyTorch fp32 logits.

    Args:
        session: onnxruntime session of the exported model.
        inputs (Tensor): The batch both were run on.
        reference (Tensor): PyTorch's logits.
        tolerance (float): Largest acceptable relative max error.
            Default: 1e-4.

    Returns:
        ErrorCheck: Relative max error and class agreement.
    """
    output = torch.from_numpy(ort_run(session, inputs))
    return check_output(output, reference.detach().cpu().float(), tolerance)


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


def export_segmentor(segmentor: nn.Module,
                     path: PathLike,
                     input_shape: Sequence[int] = (1, 3, 713, 713),
                     resize_to_input: bool = True,
                     opset: int = DEFAULT_OPSET,
                     dynamic_batch: bool = True,
                     seed: int = 0) -> ExportResult:
    """Export a deployed segmentor and check onnxruntime against PyTorch.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` on the CPU, in eval
            mode, already converted with
            :func:`repvgg_seg.deploy.switch_to_deploy`.
        path (str | PathLike): Output ``.onnx`` file.
        input_shape (Sequence[int]): ``(N, 3, H, W)`` of the example input;
            ``H, W`` are fixed in the graph. Default: ``(1, 3, 713, 713)``.
        resize_to_input (bool): Logits at input resolution (as
            ``encode_decode``); False keeps the head's 1/8. Default: True.
        opset (int): ONNX opset. Default: 17.
        dynamic_batch (bool): Leave the batch size free. Default: True.
        seed (int): Seed of the random check input. Default: 0.

    Returns:
        ExportResult: File, shapes, opset and the onnxruntime check.
    """
    wrapper = SegmentorForward(segmentor, resize_to_input=resize_to_input).eval()
    gen = torch.Generator().manual_seed(seed)
    inputs = torch.randn(*input_shape, generator=gen)
    with torch.no_grad():
        reference = wrapper(inputs)
    export_onnx(wrapper, inputs, path, opset=opset, dynamic_batch=dynamic_batch)
    check = check_onnx(ort_session(path), inputs, reference)
    return ExportResult(path=os.fspath(path), input_shape=tuple(inputs.shape),
                        output_shape=tuple(reference.shape), opset=opset,
                        check=check)
