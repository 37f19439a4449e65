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

from repvgg_seg.apis import ErrorCheck, SegmentorForward, check_output
from repvgg_seg.export import check_onnx, export_onnx, ort_run, ort_session
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
    best: Optional[Timing] = None
    memories: List[PeakMemory] = field(default_factory=list)


def weights_mib(model: nn.Module) -> float:
    tensors = list(model.parameters()) + list(model.buffers())
    return sum(t.numel() * t.element_size() for t in tensors) / 2**20


def record_check(row: BenchmarkRow, check: ErrorCheck, log: Progress) -> None:
    """Put the check on the row; a failed check makes the row 'wrong'."""
    row.rel_max_err = check.rel_max_err
    row.tolerance = check.tolerance
    row.class_agreement = check.agreement
    log(f'{row.form}/{row.mode}: {check}')
    if check.ok:
        return
    row.status = 'wrong'
    if check.rel_max_err > check.tolerance:
        row.note = (f'relative max error {check.rel_max_err:.2e} > '
                    f'{check.tolerance:.0e}: not timed')
    else:
        row.note = (f'same class as fp32 at only {check.agreement:.1%} of pixels '
                    f'(at least {check.min_agreement:.0%} needed): not timed')


def fail(row: BenchmarkRow, status: str, note: str, log: Progress) -> None:
    row.status, row.note = status, note
    log(f'{row.form}/{row.mode}: {status}: {note}')


def onnx_variants(deployed: nn.Module, inputs: Tensor, reference: Tensor,
                  settings: BenchmarkSettings, name: str, workdir: str,
                  log: Progress) -> List[Variant]:
    """The onnxruntime rows the settings ask for, on the CPU: fp32 and INT8
    (static QDQ, calibrated on random batches of the input's size), both
    from one ONNX export of the deployed model."""
    modes = [mode for mode, wanted in ((ORT_MODE, settings.onnxruntime),
                                       (INT8_MODE, settings.onnxruntime_int8))
             if wanted]
    variants = [Variant(row=new_row(name, 'deploy', mode, 'cpu', settings),
                        memory_device=torch.device('cpu')) for mode in modes]
    if not variants:
        return variants
    cpu_inputs = inputs.detach().cpu()
    fp32_path = os.path.join(workdir, f'{name}.onnx')
    try:
        log(f'deploy/{ORT_MODE}: exporting {fp32_path}')
        export_onnx(SegmentorForward(copy.deepcopy(deployed).cpu()).eval(),
                    cpu_inputs, fp32_path)
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        for variant in variants:
            fail(variant.row, 'error', f'ONNX export: {type(err).__name__}: {err}', log)
        return variants
    for variant in variants:
        if variant.row.mode == ORT_MODE:
            _session_variant(variant, fp32_path, cpu_inputs, reference,
                             settings.tolerance_for('fp32'), 0.0, log)
        else:
            _int8_variant(variant, fp32_path, cpu_inputs, reference, settings, log)
    return variants


def _int8_variant(variant: Variant, fp32_path: str, cpu_inputs: Tensor,
                  reference: Tensor, settings: BenchmarkSettings,
                  log: Progress) -> None:
    path = fp32_path[:-len('.onnx')] + '_int8.onnx'
    gen = torch.Generator().manual_seed(settings.seed + 1)
    batches = [cpu_inputs[:1].numpy()] + [
        torch.randn(1, *cpu_inputs.shape[1:], generator=gen).numpy()
        for _ in range(settings.calib_batches - 1)]
    try:
        log(f'deploy/{INT8_MODE}: calibrating on {len(batches)} batches')
        quantize_onnx(fp32_path, path, batches)
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        fail(variant.row, 'error', f'{type(err).__name__}: {err}', log)
        return
    # INT8 has no error tolerance: it is judged by its class agreement.
    _session_variant(variant, path, cpu_inputs, reference, float('inf'),
                     INT8_MIN_AGREEMENT, log)


def _session_variant(variant: Variant, path: str, cpu_inputs: Tensor,
                     reference: Tensor, tolerance: float, min_agreement: float,
                     log: Progress) -> None:
    row = variant.row
    row.weights_mib = os.path.getsize(path) / 2**20
    try:
        session = ort_session(path)
        check = check_onnx(session, cpu_inputs, reference, tolerance, min_agreement)
    except Exception as err:  # noqa: BLE001  (one failing variant must not end the run)
        fail(row, 'error', f'{type(err).__name__}: {err}', log)
        return
    record_check(row, check, log)
    array = cpu_inputs.float().numpy()
    variant.fn = lambda _x: ort_run(session, array)
    variant.inputs = cpu_inputs


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
    record_check(row, check_output(output, reference,
                                   settings.tolerance_for(mode.precision)), log)
    variant.fn, variant.inputs = prepared.fn, prepared.inputs
    variant.context = prepared.context
    return variant


