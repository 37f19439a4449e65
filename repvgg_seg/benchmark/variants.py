"""Benchmark variants: a config's model in one form and mode, made ready to
time after its logits were checked against the fp32 deployed model's.

PyTorch variants run the training or deployed form under a fast mode
(:mod:`.fast_modes`); onnxruntime variants run the deployed model exported to
ONNX, in fp32 or quantized to INT8 (:mod:`repvgg_seg.export`).
"""
import copy
import os
import traceback
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import torch
from torch import Tensor, nn

from repvgg_seg.apis import SegmentorForward, check_output
from repvgg_seg.export import export_onnx, ort_run, ort_session
from repvgg_seg.export.int8 import quantize_onnx
from .fast_modes import FastMode, PreparedMode, fp32_protocol, prepare_mode
from .memory import PeakMemory, track_peak_memory
from .rows import (INT8_MIN_AGREEMENT, INT8_MODE, ORT_MODE, BenchmarkRow,
                   BenchmarkSettings, new_row)
from .timing import Timing

Progress = Callable[[str], None]


@dataclass
class Variant:
    """A row being measured: its callable, input and best timing so far."""

    row: BenchmarkRow
    fn: Optional[Callable[[Tensor], object]] = None
    inputs: Optional[Tensor] = None
    context: Callable = fp32_protocol
    memory_device: Optional[torch.device] = None
    path: Optional[str] = None  # the ONNX file of an onnxruntime variant
    best: Optional[Timing] = None
    memories: List[PeakMemory] = field(default_factory=list)


def weights_mib(model: nn.Module) -> float:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def record_check(row: BenchmarkRow, output: Tensor, reference: Tensor,
                  tolerance: float, log: Progress) -> None:
    check = check_output(output, reference, tolerance)
    row.rel_max_err = check.rel_max_err
    row.tolerance = check.tolerance
    row.class_agreement = check.agreement
    log(f'{row.form}/{row.mode}: {check}')
    if not check.ok:
        row.status = 'wrong'
        row.note = (f'relative max error {check.rel_max_err:.2e} > '
                    f'{check.tolerance:.0e}: not timed')


def fail(row: BenchmarkRow, status: str, note: str, log: Progress) -> None:
    row.status, row.note = status, note
    log(f'{row.form}/{row.mode}: {status}: {note}')


def ort_variant(deployed: nn.Module, inputs: Tensor, reference: Tensor,
                settings: BenchmarkSettings, name: str, workdir: str,
                log: Progress) -> Variant:
    """onnxruntime fp32 on the CPU: the deployed model exported to ONNX."""
    row = new_row(name, 'deploy', ORT_MODE, 'cpu', settings)
    variant = Variant(row=row, memory_device=torch.device('cpu'))
    try:
        cpu_model = SegmentorForward(copy.deepcopy(deployed).cpu()).eval()
        cpu_inputs = inputs.detach().cpu()
        path = os.path.join(workdir, f'{name}.onnx')
        log(f'deploy/{ORT_MODE}: exporting {path}')
        export_onnx(cpu_model, cpu_inputs, path)
        del cpu_model
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return variant
    return _session_variant(variant, path, cpu_inputs, reference,
                            settings.tolerance_for('fp32'), log)


def int8_variant(fp32: Variant, inputs: Tensor, reference: Tensor,
                 settings: BenchmarkSettings, name: str, workdir: str,
                 log: Progress) -> Variant:
    """onnxruntime INT8 (static QDQ) of the fp32 export, calibrated on random
    batches of the input's size."""
    row = new_row(name, 'deploy', INT8_MODE, 'cpu', settings)
    variant = Variant(row=row, memory_device=torch.device('cpu'))
    if fp32.path is None:
        fail(row, 'skipped', 'the fp32 ONNX export failed', log)
        return variant
    path = os.path.join(workdir, f'{name}_int8.onnx')
    gen = torch.Generator().manual_seed(settings.seed + 1)
    batches = [inputs[:1].cpu().numpy()] + [
        torch.randn(1, *inputs.shape[1:], generator=gen).numpy()
        for _ in range(settings.calib_batches - 1)]
    try:
        log(f'deploy/{INT8_MODE}: calibrating on {len(batches)} batches')
        quantize_onnx(fp32.path, path, batches)
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return variant
    variant = _session_variant(variant, path, inputs.detach().cpu(), reference,
                               float('inf'), log)
    if row.status == 'ok' and row.class_agreement < INT8_MIN_AGREEMENT:
        fail(row, 'wrong', f'INT8 agrees with fp32 on only '
             f'{row.class_agreement:.1%} of pixels: not timed', log)
    return variant


def _session_variant(variant: Variant, path: str, cpu_inputs: Tensor,
                     reference: Tensor, tolerance: float, log: Progress) -> Variant:
    row = variant.row
    session = ort_session(path)
    variant.path = path
    row.weights_mib = os.path.getsize(path) / 2**20
    array = cpu_inputs.float().numpy()
    output = torch.from_numpy(ort_run(session, array))
    record_check(row, output, reference.cpu(), tolerance, log)
    variant.fn = lambda _x: ort_run(session, array)
    variant.inputs = cpu_inputs
    return variant


def torch_variant(model: nn.Module, form: str, mode: FastMode, inputs: Tensor,
                   reference: Tensor, settings: BenchmarkSettings, name: str,
                   log: Progress) -> Variant:
    row = new_row(name, form, mode.name, str(inputs.device), settings)
    variant = Variant(row=row, memory_device=inputs.device)
    row.weights_mib = weights_mib(model)
    reason = mode.unsupported_reason(inputs.device)
    if reason:
        fail(row, 'skipped', reason, log)
        return variant
    forward = SegmentorForward(model).eval()
    try:
        with track_peak_memory(inputs.device) as memory:
            prepared: PreparedMode = prepare_mode(forward, inputs, mode)
        # A captured CUDA graph keeps its activations in a private pool
        # allocated at capture, before any timed batch: count it.
        if mode.cuda_graphs and not mode.compile:
            variant.memories.append(memory)
        with prepared.context(), torch.inference_mode():
            if mode.compile:
                log(f'{form}/{mode.name}: compiling (first call)')
            output = prepared.fn(prepared.inputs)
            # Static outputs (CUDA graphs) are overwritten by the next call.
            output = output.detach().clone()
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        log(traceback.format_exc(limit=3))
        fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return variant
    record_check(row, output, reference, settings.tolerance_for(mode.precision), log)
    variant.fn, variant.inputs = prepared.fn, prepared.inputs
    variant.context = prepared.context
    return variant


