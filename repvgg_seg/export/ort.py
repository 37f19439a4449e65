"""Running exported models with onnxruntime on the CPU."""
import os
from typing import Dict, Optional, Union

import numpy as np
import torch
from torch import Tensor

from repvgg_seg.apis import TOLERANCES, ErrorCheck, check_output

PathLike = Union[str, os.PathLike]


def ort_session(path: PathLike, threads: Optional[int] = None):
    """An onnxruntime CPU session.

    Args:
        path (str | PathLike): ONNX file.
        threads (int, optional): Intra-op threads; default: torch's count, so
            onnxruntime and PyTorch compete on equal terms.

    Returns:
        onnxruntime.InferenceSession: The session.
    """
    try:
        import onnxruntime as ort
    except ImportError:
        raise ImportError('onnxruntime is not installed: pip install onnxruntime '
                          '(or pip install -e ".[deploy]")') from None
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'ONNX model not found: {path}')
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads or torch.get_num_threads()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    except Exception as err:  # onnxruntime raises its own exception types
        raise ValueError(f'{path} is not a model onnxruntime can load: '
                         f'{str(err).splitlines()[0]}') from err


def ort_metadata(session) -> Dict[str, str]:
    """The ``metadata_props`` an exported file carries."""
    return dict(session.get_modelmeta().custom_metadata_map)


def ort_run(session, inputs: Union[Tensor, np.ndarray]) -> np.ndarray:
    """Run the session's single input and return its first output."""
    if isinstance(inputs, Tensor):
        inputs = inputs.detach().cpu().float().numpy()
    name = session.get_inputs()[0].name
    return session.run(None, {name: np.ascontiguousarray(inputs)})[0]


def check_onnx(session, inputs: Tensor, reference: Tensor,
               tolerance: float = TOLERANCES['fp32'],
               min_agreement: float = 0.0) -> ErrorCheck:
    """onnxruntime logits against the PyTorch fp32 logits.

    Args:
        session: onnxruntime session of the exported model.
        inputs (Tensor): The batch both were run on.
        reference (Tensor): PyTorch's logits.
        tolerance (float): Largest acceptable relative max error.
            Default: 1e-4.
        min_agreement (float): Smallest acceptable class agreement.
            Default: 0.0.

    Returns:
        ErrorCheck: Relative max error and class agreement.
    """
    output = torch.from_numpy(ort_run(session, inputs))
    return check_output(output, reference.detach().cpu().float(), tolerance,
                        min_agreement)
