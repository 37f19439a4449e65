"""Fast inference paths and the check that keeps them honest.

A :class:`FastMode` combines any of: TF32 tensor cores, channels-last memory
format, fp16/bf16 autocast, ``torch.compile`` and CUDA graphs. The benchmark
compares every mode's logits with the float32 deployed model before timing
it (:func:`repvgg_seg.apis.check_output`); a mode whose relative max error is over its
tolerance is reported as wrong and not timed, so a speed figure never stands
for a wrong answer.

The float32 protocol itself (paper, Table 8) is :func:`fp32_protocol`: TF32
off, ``cudnn.benchmark`` on.
"""
import contextlib
import copy
import os
import shutil
from dataclasses import dataclass
from typing import Callable, Iterator, Optional, Tuple

import torch
from torch import Tensor, nn

from repvgg_seg.apis.compare import TOLERANCES

_TOKENS = {
    'fp32': 'fp32', 'tf32': 'tf32', 'channels_last': 'channels_last',
    'cl': 'channels_last', 'fp16': 'fp16', 'bf16': 'bf16', 'compile': 'compile',
    'cuda_graphs': 'cuda_graphs', 'cudagraphs': 'cuda_graphs',
    'graphs': 'cuda_graphs'
}


@dataclass(frozen=True)
class FastMode:
    """One combination of fast-path switches.

    Args:
        tf32 (bool): Let cuDNN and cuBLAS use TF32 tensor cores for fp32.
        channels_last (bool): NHWC model weights and input.
        autocast (str, optional): ``'fp16'`` or ``'bf16'`` autocast.
        compile (bool): ``torch.compile`` (inductor) the forward.
        cuda_graphs (bool): Replay the forward as one CUDA graph. With
            ``compile`` this is inductor's ``mode='reduce-overhead'``.
    """

    tf32: bool = False
    channels_last: bool = False
    autocast: Optional[str] = None
    compile: bool = False
    cuda_graphs: bool = False

    @classmethod
    def parse(cls, spec: str) -> 'FastMode':
        """``'fp32'``, or switches joined by ``+``, e.g. ``'channels_last+bf16'``.

        Tokens: ``fp32 tf32 channels_last (cl) fp16 bf16 compile
        cuda_graphs (cudagraphs, graphs)``.
        """
        flags = dict(tf32=False, channels_last=False, autocast=None,
                     compile=False, cuda_graphs=False)
        for raw in spec.replace(',', '+').split('+'):
            token = _TOKENS.get(raw.strip().lower())
            if token is None:
                raise ValueError(
                    f'Unknown fast-mode switch {raw!r} in {spec!r}; use fp32 or '
                    f'any of tf32, channels_last, fp16, bf16, compile, '
                    f'cuda_graphs joined by "+"')
            if token in ('fp16', 'bf16'):
                if flags['autocast'] not in (None, token):
                    raise ValueError(f'{spec!r}: choose one of fp16 and bf16')
                flags['autocast'] = token
            elif token != 'fp32':
                flags[token] = True
        return cls(**flags)

    @property
    def name(self) -> str:
        parts = [p for p, on in (('tf32', self.tf32),
                                 ('channels_last', self.channels_last),
                                 (self.autocast, bool(self.autocast)),
                                 ('compile', self.compile),
                                 ('cuda_graphs', self.cuda_graphs)) if on]
        return '+'.join(parts) or 'fp32'

    @property
    def precision(self) -> str:
        """The arithmetic whose rounding bounds this mode's error."""
        return self.autocast or ('tf32' if self.tf32 else 'fp32')

    @property
    def tolerance(self) -> float:
        return TOLERANCES[self.precision]

    def unsupported_reason(self, device: torch.device) -> Optional[str]:
        """Why this mode cannot run on ``device``, or None if it can."""
        device = torch.device(device)
        if device.type != 'cuda':
            if self.cuda_graphs:
                return ('CUDA graphs record CUDA kernels; they need --device '
                        'cuda')
            if self.tf32:
                return ('TF32 is a tensor-core format of NVIDIA GPUs (Ampere '
                        'and later); it has no CPU path, use --device cuda')
            if self.autocast == 'fp16':
                return ('fp16 autocast is a GPU mode: CPUs without native fp16 '
                        'arithmetic run it through conversion fallbacks, tens '
                        'of times slower than fp32; use bf16 on CPU')
        elif self.autocast == 'bf16' and not torch.cuda.is_bf16_supported():
            return 'this GPU has no bf16 support'
        if self.compile and device.type == 'cpu' and not _cxx_compiler():
            return ('torch.compile on CPU generates C++ and needs a compiler '
                    '(set CXX or install g++)')
        return None


def _cxx_compiler() -> Optional[str]:
    for name in (os.environ.get('CXX'), 'g++', 'c++', 'clang++'):
        if name and shutil.which(name):
            return name
    return None


@contextlib.contextmanager
def _tf32(enabled: bool) -> Iterator[None]:
    """TF32 for cuBLAS matmuls and cuDNN convs, restored on exit."""
    matmul, conv = torch.backends.cuda.matmul, torch.backends.cudnn.conv
    if hasattr(matmul, 'fp32_precision') and hasattr(conv, 'fp32_precision'):
        saved = matmul.fp32_precision, conv.fp32_precision
        value = 'tf32' if enabled else 'ieee'
        matmul.fp32_precision = conv.fp32_precision = value
        try:
            yield
        finally:
            matmul.fp32_precision, conv.fp32_precision = saved
    else:  # pragma: no cover - torch < 2.9
        saved = matmul.allow_tf32, torch.backends.cudnn.allow_tf32
        matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = enabled
        try:
            yield
        finally:
            matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


@contextlib.contextmanager
def fp32_protocol(tf32: bool = False) -> Iterator[None]:
    """The paper's fp32 setting: TF32 off, ``cudnn.benchmark`` on.

    Args:
        tf32 (bool): Allow TF32 instead (the ``tf32`` fast mode).
    """
    saved = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = True
    try:
        with _tf32(tf32):
            yield
    finally:
        torch.backends.cudnn.benchmark = saved


class _Autocast(nn.Module):
    """Runs the wrapped model under autocast (inside, so compile traces it)."""

    def __init__(self, model: nn.Module, device_type: str,
                 dtype: Optional[torch.dtype]) -> None:
        super().__init__()
        self.model = model
        self.device_type = device_type
        self.dtype = dtype

    def forward(self, inputs: Tensor) -> Tensor:
        if self.dtype is None:
            return self.model(inputs)
        with torch.autocast(self.device_type, dtype=self.dtype):
            return self.model(inputs)


_DTYPES = {'fp16': torch.float16, 'bf16': torch.bfloat16}


def capture_cuda_graph(fn: Callable[[Tensor], Tensor],
                       example: Tensor) -> Tuple[Callable[[Tensor], Tensor], Tensor]:
    """Record ``fn(example)`` as one CUDA graph.

    Args:
        fn (callable): The forward; must not synchronise with the host.
        example (Tensor): A batch on the GPU; its copy becomes the graph's
            static input.

    Returns:
        tuple: ``(replay, static_input)``. ``replay(x)`` copies ``x`` into the
        static input unless it is that tensor, replays the graph and returns
        the static output (overwritten by the next replay).
    """
    static_input = example.clone()
    # Warm up on a side stream: cuDNN autotuning and allocator growth must
    # happen before capture, and capture must not see the default stream.
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode(), torch.cuda.stream(stream):
        for _ in range(3):
            fn(static_input)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.inference_mode(), torch.cuda.graph(graph):
        static_output = fn(static_input)

    def replay(inputs: Tensor) -> Tensor:
        if inputs.data_ptr() != static_input.data_ptr():
            static_input.copy_(inputs)
        graph.replay()
        return static_output

    return replay, static_input


@dataclass
class PreparedMode:
    """A mode ready to run: call ``fn(inputs)`` inside ``context()``."""

    mode: FastMode
    fn: Callable[[Tensor], Tensor]
    inputs: Tensor

    def context(self) -> contextlib.AbstractContextManager:
        return fp32_protocol(tf32=self.mode.tf32)


def prepare_mode(model: nn.Module, inputs: Tensor, mode: FastMode) -> PreparedMode:
    """Wrap ``model`` for ``mode``; ``model`` itself is not changed.

    Args:
        model (nn.Module): The (deployed) model in eval mode.
        inputs (Tensor): One batch on the model's device.
        mode (FastMode): Switches to apply.

    Returns:
        PreparedMode: The callable and the input it should be timed on.

    Raises:
        RuntimeError: The mode cannot run on this device (the message says
            why).
    """
    reason = mode.unsupported_reason(inputs.device)
    if reason:
        raise RuntimeError(f'fast mode {mode.name}: {reason}')
    if mode.channels_last:
        # A copy: converting in place would change the model other modes use.
        model = copy.deepcopy(model).to(memory_format=torch.channels_last)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
    fn: Callable[[Tensor], Tensor] = _Autocast(
        model, inputs.device.type, _DTYPES.get(mode.autocast))
    if mode.compile:
        # Fresh dynamo caches: every mode compiles the same wrapper code, and
        # past the recompile limit dynamo would silently fall back to eager.
        torch._dynamo.reset()
        fn = torch.compile(fn, mode='reduce-overhead' if mode.cuda_graphs else None,
                           dynamic=False)
    elif mode.cuda_graphs:
        with fp32_protocol(tf32=mode.tf32):
            fn, inputs = capture_cuda_graph(fn, inputs)
    return PreparedMode(mode=mode, fn=fn, inputs=inputs)
