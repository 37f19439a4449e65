"""Fast modes: parsing, CPU support messages, and the output check that gates
every mode before it is timed."""
import pytest
import torch

from conftest import DEMO_CONFIG
from repvgg_seg.apis import (SegmentorForward, build_segmentor, check_output,
                             is_deployed, load_config, relative_max_error)
from repvgg_seg.benchmark.fast_modes import FastMode, prepare_mode
from repvgg_seg.benchmark.memory import track_peak_memory
from repvgg_seg.deploy import switch_to_deploy

CPU = torch.device('cpu')


@pytest.fixture(scope='module')
def deployed_forward():
    torch.manual_seed(0)
    model = switch_to_deploy(build_segmentor(load_config(DEMO_CONFIG)))
    assert is_deployed(model)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        return SegmentorForward(model).eval(), x, SegmentorForward(model)(x)


def test_parse_names_and_tolerances():
    mode = FastMode.parse('bf16+cl+compile')
    assert mode == FastMode(channels_last=True, autocast='bf16', compile=True)
    assert mode.name == 'channels_last+bf16+compile'
    assert FastMode.parse(mode.name) == mode
    assert FastMode.parse('fp32') == FastMode() and FastMode().name == 'fp32'
    assert FastMode.parse('tf32+cudagraphs').name == 'tf32+cuda_graphs'
    assert (FastMode().tolerance, FastMode(tf32=True).tolerance,
            FastMode(autocast='bf16').tolerance) == (1e-4, 1e-2, 5e-2)
    with pytest.raises(ValueError, match='Unknown fast-mode switch'):
        FastMode.parse('channels_last+int8')
    with pytest.raises(ValueError, match='one of fp16 and bf16'):
        FastMode.parse('fp16+bf16')


def test_cuda_only_modes_explain_themselves_on_cpu(deployed_forward):
    assert 'need --device cuda' in FastMode(cuda_graphs=True).unsupported_reason(CPU)
    assert 'no CPU path' in FastMode(tf32=True).unsupported_reason(CPU)
    assert 'use bf16 on CPU' in FastMode(autocast='fp16').unsupported_reason(CPU)
    for ok in ('channels_last', 'bf16', 'channels_last+bf16', 'compile'):
        assert FastMode.parse(ok).unsupported_reason(CPU) is None
    forward, x, _ = deployed_forward
    with pytest.raises(RuntimeError, match='cuda_graphs: CUDA graphs'):
        prepare_mode(forward, x, FastMode(cuda_graphs=True))


@pytest.mark.parametrize('spec', ['channels_last', 'bf16', 'channels_last+bf16'])
def test_cpu_modes_match_fp32_deployed(deployed_forward, spec):
    forward, x, reference = deployed_forward
    weight = next(forward.parameters())
    mode = FastMode.parse(spec)
    prepared = prepare_mode(forward, x, mode)
    with prepared.context(), torch.inference_mode():
        out = prepared.fn(prepared.inputs)
    check = check_output(out, reference, mode.tolerance)
    assert check.ok, str(check)
    assert check.rel_max_err < (1e-5 if mode.precision == 'fp32' else 3e-2)
    if mode.channels_last:
        assert prepared.inputs.is_contiguous(memory_format=torch.channels_last)
    # The model the other modes use is left as it was.
    assert next(forward.parameters()) is weight and weight.is_contiguous()


def test_checker_catches_wrong_outputs(deployed_forward):
    _, _, reference = deployed_forward
    scale = reference.abs().max()
    wrong = reference.clone()
    wrong[0, 0, 0, 0] += 0.1 * scale  # one bad logit is enough
    check = check_output(wrong, reference, 5e-2)
    assert not check.ok and check.rel_max_err == pytest.approx(0.1, rel=1e-3)
    assert 'WRONG' in str(check)
    swapped = reference.flip(1)  # classes permuted: a layout bug
    assert not check_output(swapped, reference, 5e-2).ok
    assert check_output(swapped, reference, 5e-2).agreement < 0.5
    nan = reference.clone()
    nan[0, 0, 0, 0] = float('nan')
    assert relative_max_error(nan, reference) == float('inf')
    assert relative_max_error(reference[:, :3], reference) == float('inf')
    assert check_output(reference.clone(), reference, 1e-4).rel_max_err == 0


def test_cpu_peak_memory_sees_a_large_temporary():
    # In a long-lived test worker, memory freed by earlier tests may still be
    # resident and be handed out again without RSS growing: return it first.
    import ctypes
    ctypes.CDLL('libc.so.6').malloc_trim(0)
    with track_peak_memory(CPU) as memory:
        buf = torch.ones(64 * 2**20 // 4)  # 64 MiB, touched
        del buf
    assert memory.kind == 'cpu RSS'
    assert 60 <= memory.growth_mib < 200


COMPILE = FastMode.parse('channels_last+bf16+compile')


@pytest.mark.skipif(COMPILE.unsupported_reason(CPU) is not None,
                    reason=str(COMPILE.unsupported_reason(CPU)))
def test_compile_on_cpu(deployed_forward):
    forward, x, reference = deployed_forward
    prepared = prepare_mode(forward, x, COMPILE)
    with prepared.context(), torch.inference_mode():
        out = prepared.fn(prepared.inputs)
    assert check_output(out, reference, 5e-2).ok
