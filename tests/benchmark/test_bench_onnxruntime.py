"""The benchmark's onnxruntime rows (fp32 and INT8 of one export): checked
against the PyTorch fp32 logits before they are timed, and a file onnxruntime
cannot load is an error row, not the end of the run."""
import torch

from conftest import DEMO_CONFIG
from repvgg_seg.benchmark import variants
from repvgg_seg.benchmark.rows import INT8_MODE, ORT_MODE, BenchmarkSettings, new_row
from repvgg_seg.benchmark.suite import benchmark_config


def _settings(**kwargs):
    return BenchmarkSettings(device='cpu', batch_size=1, shape=(64, 64), warmup=0,
                             iters=1, calib_batches=2, **kwargs)


def test_fp32_and_int8_rows_are_checked_then_timed():
    rows = benchmark_config(str(DEMO_CONFIG), _settings(onnxruntime=True,
                                                        onnxruntime_int8=True),
                            progress=lambda _m: None)
    by_mode = {r.mode: r for r in rows}
    assert set(by_mode) == {'fp32', ORT_MODE, INT8_MODE}
    fp32, int8 = by_mode[ORT_MODE], by_mode[INT8_MODE]
    assert fp32.status == 'ok' and fp32.rel_max_err < 1e-4 and fp32.ms_per_batch > 0
    assert fp32.class_agreement > 0.99
    assert int8.status == 'ok' and int8.ms_per_batch > 0
    assert int8.tolerance == float('inf') and int8.class_agreement >= 0.5
    assert int8.weights_mib < fp32.weights_mib  # int8 weights


def test_int8_alone_times_no_fp32_session():
    logged = []
    rows = benchmark_config(str(DEMO_CONFIG), _settings(onnxruntime_int8=True),
                            progress=logged.append)
    assert [r.mode for r in rows] == ['fp32', INT8_MODE]
    assert rows[1].status == 'ok'
    assert not any(line.startswith(f'deploy/{ORT_MODE}: relative') for line in logged)


def test_unloadable_onnx_file_is_an_error_row(tmp_path):
    bad = tmp_path / 'bad.onnx'
    bad.write_text('not a model')
    row = new_row('x', 'deploy', ORT_MODE, 'cpu', _settings(onnxruntime=True))
    variant = variants.Variant(row=row)
    inputs = torch.zeros(1, 3, 8, 8)
    variants._session_variant(variant, str(bad), inputs, torch.zeros(1, 2, 8, 8),
                              1e-4, 0.0, lambda _m: None)
    assert row.status == 'error' and 'not a model onnxruntime can load' in row.note
    assert variant.fn is None


def test_a_failed_agreement_check_says_so():
    row = new_row('x', 'deploy', INT8_MODE, 'cpu', _settings(onnxruntime_int8=True))
    reference = torch.zeros(1, 2, 4, 4)
    reference[:, 0] = 1.0
    output = torch.zeros(1, 2, 4, 4)
    output[:, 1] = 1.0  # every pixel the other class
    variants.record_check(row, variants.check_output(output, reference, float('inf'),
                                                     0.5), lambda _m: None)
    assert row.status == 'wrong' and row.class_agreement == 0.0
    assert 'at only 0.0% of pixels (at least 50% needed): not timed' in row.note
