"""tools/benchmark.py on CPU at a small shape: table, ratios, files, checks."""
import csv
import io
import json
from contextlib import redirect_stdout

import pytest
import torch

from conftest import DEMO_CONFIG, REPO
from tool_runs import load_tool
from repvgg_seg.benchmark import suite, variants
from repvgg_seg.benchmark.fast_modes import PreparedMode
from repvgg_seg.benchmark.rows import ROW_FIELDS, BenchmarkSettings

R50 = REPO / 'configs' / 'pspnet_r50.py'
TOY = DEMO_CONFIG.stem


@pytest.fixture(scope='module')
def tool_run(tmp_path_factory):
    """One run over a RepVGG and a ResNet config, both forms, two CPU modes."""
    out = tmp_path_factory.mktemp('bench')
    argv = [str(DEMO_CONFIG), str(R50), '--device', 'cpu', '--shape', '64', '64',
            '--batch-size', '1', '--warmup', '1', '--iters', '2', '--form', 'both',
            '--modes', 'channels_last', 'bf16', 'cuda_graphs',
            '--baseline', 'pspnet_r50', '--pairs', f'{TOY}:pspnet_r50',
            '--out-json', str(out / 'b.json'), '--out-csv', str(out / 'b.csv'),
            '--plot', str(out / 'b.png'), '--miou-json', str(out / 'miou.json'),
            '--matmul-peak']
    (out / 'miou.json').write_text(json.dumps({TOY: {'mIoU': 12.5}}))
    tool = load_tool('benchmark')
    buf = io.StringIO()
    with redirect_stdout(buf):
        rc = tool.main(argv)
    return rc, buf.getvalue(), out


def test_table_rows_ratios_and_sections(tool_run):
    rc, stdout, _ = tool_run
    assert rc == 0, stdout[-3000:]
    table = stdout[stdout.index('config  '):]
    for name in (TOY, 'pspnet_r50'):
        for form, mode in (('train', 'fp32'), ('deploy', 'fp32'),
                           ('deploy', 'channels_last'), ('deploy', 'bf16'),
                           ('deploy', 'cuda_graphs')):
            assert any(line.split()[:3] == [name, form, mode]
                       for line in table.splitlines()), (name, form, mode)
    assert 'x pspnet_r50' in table and '% matmul' in table
    assert 'need --device cuda' in table  # the skipped mode says why
    assert 'Deployed vs training form (Table 6 style)' in stdout
    assert f'{TOY} / pspnet_r50 [deploy/fp32]' in stdout
    assert 'warm-up 1/1' in stdout and 'timed 2/2' in stdout  # progress lines
    assert 'relative max error' in stdout
    assert '(2 configs with an mIoU)' in stdout  # miou.json + paper's R50


def test_json_csv_and_plot(tool_run):
    _, _, out = tool_run
    data = json.loads((out / 'b.json').read_text())
    assert data['meta']['environment']['torch'] == torch.__version__
    assert data['meta']['matmul_peak']['tflops'] > 0
    rows = {(r['config'], r['form'], r['mode']): r for r in data['rows']}
    assert len(rows) == 10 and set(data['rows'][0]) == set(ROW_FIELDS)
    base = rows[('pspnet_r50', 'deploy', 'fp32')]
    toy_train, toy = rows[(TOY, 'train', 'fp32')], rows[(TOY, 'deploy', 'fp32')]
    assert base['ratio_to_baseline'] == pytest.approx(1.0)
    assert toy['ratio_to_baseline'] == pytest.approx(
        toy['images_per_s'] / base['images_per_s'])
    assert toy['deploy_speedup'] == pytest.approx(
        toy_train['ms_per_batch'] / toy['ms_per_batch'])
    # Training form runs the 1x1 branches too; the ResNet's cost is unchanged.
    assert toy_train['gmacs_per_image'] > toy['gmacs_per_image']
    r50_train = rows[('pspnet_r50', 'train', 'fp32')]
    assert r50_train['gmacs_per_image'] == base['gmacs_per_image']
    assert base['tflops'] == pytest.approx(
        2 * base['gmacs_per_image'] * base['images_per_s'] / 1e3)
    for key in ((TOY, 'deploy', 'channels_last'), (TOY, 'deploy', 'bf16'),
                ('pspnet_r50', 'deploy', 'bf16')):
        row = rows[key]
        assert row['status'] == 'ok' and row['rel_max_err'] < row['tolerance']
        assert row['images_per_s'] > 0 and row['peak_mib'] > 0
    assert toy_train['rel_max_err'] < 1e-5  # re-parameterization is exact
    graphs = rows[(TOY, 'deploy', 'cuda_graphs')]
    assert graphs['status'] == 'skipped' and graphs['images_per_s'] is None

    with open(out / 'b.csv') as f:
        table = list(csv.DictReader(f))
    assert tuple(table[0]) == ROW_FIELDS and len(table) == 10
    assert (out / 'b.png').stat().st_size > 1000


def test_wrong_mode_is_reported_and_not_timed(monkeypatch):
    """A mode whose logits are off is flagged and gets no speed figure."""
    real_prepare = variants.prepare_mode

    def broken_prepare(model, inputs, mode):
        prepared = real_prepare(model, inputs, mode)
        return PreparedMode(mode=mode, fn=lambda x: prepared.fn(x) * 1.2,
                            inputs=prepared.inputs)

    monkeypatch.setattr(variants, 'prepare_mode', broken_prepare)
    settings = BenchmarkSettings(device='cpu', batch_size=1, shape=(32, 32),
                                 warmup=0, iters=1, forms=('deploy', ),
                                 modes=(suite.FastMode(channels_last=True), ))
    lines = []
    rows = suite.benchmark_config(str(DEMO_CONFIG), settings, progress=lines.append)
    wrong = rows[-1]
    assert wrong.mode == 'channels_last' and wrong.status == 'wrong'
    assert wrong.rel_max_err == pytest.approx(0.2, rel=1e-3)
    assert wrong.ms_per_batch is None and 'not timed' in wrong.note
    assert any('WRONG' in line for line in lines)


def test_settings_and_checkpoint_count_are_checked():
    with pytest.raises(ValueError, match='deployed form'):
        BenchmarkSettings(forms=('train', ),
                          modes=(suite.FastMode(channels_last=True), ))
    with pytest.raises(ValueError, match='forms'):
        BenchmarkSettings(forms=('fused', ))
    with pytest.raises(ValueError, match='one per config'):
        suite.run_benchmark(['a.py', 'b.py'], BenchmarkSettings(), checkpoints=['x'])


def test_deploy_form_checkpoint_has_no_training_form(tmp_path):
    from repvgg_seg.apis import build_segmentor, load_config
    model = build_segmentor(load_config(DEMO_CONFIG))
    model.backbone.switch_to_deploy()  # fused blocks, heads still with BN
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'd.pth')
    settings = BenchmarkSettings(device='cpu', batch_size=1, shape=(32, 32),
                                 warmup=0, iters=1, forms=('train', 'deploy'))
    rows = suite.benchmark_config(str(DEMO_CONFIG), settings,
                                  checkpoint=str(tmp_path / 'd.pth'),
                                  progress=lambda _: None)
    train, deploy = rows
    assert train.status == 'skipped' and 'deploy form' in train.note
    assert deploy.status == 'ok' and deploy.rel_max_err == 0
    assert deploy.images_per_s > 0 and deploy.deploy_speedup is None


def test_macs_only_prints_both_forms(capsys):
    rc = load_tool('benchmark').main([str(DEMO_CONFIG), str(R50), '--macs-only',
                                      '--shape', '64', '64'])
    lines = capsys.readouterr().out.splitlines()
    assert rc == 0 and 'per 64x64 image' in lines[0]
    toy = next(line.split() for line in lines if line.startswith(TOY))
    r50 = next(line.split() for line in lines if line.startswith('pspnet_r50'))
    assert float(toy[1]) > float(toy[2])  # training form > deployed
    assert r50[1] == r50[2] and float(r50[1]) == pytest.approx(2.8, abs=0.05)
