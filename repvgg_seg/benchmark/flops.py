"""Multiply-add counting with forward hooks on ``Conv2d`` and ``Linear``.

One multiply-add (MAC) is counted once, as the paper counts FLOPs; 1 MAC is
2 FLOPs when a rate in FLOP/s is wanted. Only the convolutions and linear
layers are counted: bias adds, BN, ReLU, pooling and interpolation are a few
percent at most and are left out by the usual convention. The count follows
the forward that actually runs, so a training-form RepVGG counts its 1x1
branches and a deployed one does not.

Counting runs fine on the ``meta`` device: only shapes are needed, so a
713x713 batch of a large model costs milliseconds and no memory.
"""
import copy
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Sequence

import torch
from torch import Tensor, nn


@dataclass
class MacCount:
    """Multiply-adds of one forward.

    Attributes:
        total (int): All counted MACs of the forward (whole batch).
        batch_size (int): Images in the batch that was counted.
        per_module (dict): MACs per module name (whole batch), in call order.
    """

    total: int
    batch_size: int
    per_module: Dict[str, int] = field(default_factory=OrderedDict)

    @property
    def per_image(self) -> float:
        return self.total / self.batch_size

    def by_prefix(self, prefix: str) -> int:
        """MACs of the modules whose name starts with ``prefix``."""
        return sum(v for k, v in self.per_module.items() if k.startswith(prefix))


def conv2d_macs(module: nn.Conv2d, output: Tensor) -> int:
    """``N * H_out * W_out * C_out * (C_in / groups) * kh * kw``."""
    kh, kw = module.kernel_size
    per_output = (module.in_channels // module.groups) * kh * kw
    return output.numel() * per_output


def linear_macs(module: nn.Linear, output: Tensor) -> int:
    """Every output element takes ``in_features`` multiply-adds."""
    return output.numel() * module.in_features


_COUNTERS: Dict[type, Callable[[nn.Module, Tensor], int]] = {
    nn.Conv2d: conv2d_macs,
    nn.Linear: linear_macs,
}


def _counter_for(module: nn.Module) -> Optional[Callable]:
    for kind, counter in _COUNTERS.items():
        if isinstance(module, kind):
            return counter
    return None


@torch.no_grad()
def count_macs(module: nn.Module, inputs: Tensor,
               forward: Optional[Callable[[Tensor], object]] = None) -> MacCount:
    """Count the multiply-adds of one forward of ``module`` on ``inputs``.

    Args:
        module (nn.Module): The model whose ``Conv2d``/``Linear`` layers are
            hooked; a module called several times is counted every time.
        inputs (Tensor): One batch (any device, ``meta`` included).
        forward (callable, optional): What to run instead of
            ``module(inputs)``, e.g. ``segmentor._forward`` to leave out the
            auxiliary head.

    Returns:
        MacCount: Total and per-module MACs of the batch.
    """
    per_module: Dict[str, int] = OrderedDict()
    handles = []
    for name, sub in module.named_modules():
        counter = _counter_for(sub)
        if counter is None:
            continue

        def hook(mod, _args, output, name=name, counter=counter):
            per_module[name] = per_module.get(name, 0) + counter(mod, output)

        handles.append(sub.register_forward_hook(hook))
    try:
        (forward or module)(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return MacCount(total=sum(per_module.values()), batch_size=inputs.shape[0],
                    per_module=per_module)


def count_macs_on_meta(module: nn.Module, input_shape: Sequence[int],
                       forward_name: Optional[str] = None) -> MacCount:
    """Count on a ``meta`` copy of ``module``: no compute, no memory.

    Args:
        module (nn.Module): Any model (left untouched).
        input_shape (Sequence[int]): ``(N, C, H, W)``.
        forward_name (str, optional): A method of the copy to call instead of
            ``forward``, e.g. ``'_forward'`` for an mmseg segmentor.

    Returns:
        MacCount: As :func:`count_macs`.
    """
    shadow = module if _on_meta(module) else copy.deepcopy(module).to('meta')
    forward = getattr(shadow, forward_name) if forward_name else None
    return count_macs(shadow, torch.empty(*input_shape, device='meta'), forward)


def _on_meta(module: nn.Module) -> bool:
    tensors = list(module.parameters()) + list(module.buffers())
    return bool(tensors) and all(t.device.type == 'meta' for t in tensors)
