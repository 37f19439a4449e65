"""Ratios, pairs and files from synthetic rows (no model runs)."""
import csv
import json

import pytest

from repvgg_seg.benchmark.report import (PAPER_TABLE8, add_ratios,
                                         format_deploy_speedups, format_pairs,
                                         format_table, load_miou, write_csv,
                                         write_json)
from repvgg_seg.benchmark.rows import ROW_FIELDS, BenchmarkRow


def row(config, form, mode, images_per_s, **kw):
    r = BenchmarkRow(config=config, form=form, mode=mode, device='cpu',
                     batch_size=16, height=713, width=713, warmup=50, iters=50,
                     rounds=1, images_per_s=images_per_s, **kw)
    if images_per_s:
        r.ms_per_batch = 16e3 / images_per_s
    return r


@pytest.fixture
def rows():
    return [
        row('pspnet_r50', 'deploy', 'fp32', 10.0, tflops=7.0),
        row('pspnet_repvgg_b1g2_fast', 'train', 'fp32', 8.0),
        row('pspnet_repvgg_b1g2_fast', 'deploy', 'fp32', 11.0, deploy_speedup=11 / 8,
            tflops=10.5),
        row('pspnet_repvgg_b1g2_fast', 'deploy', 'channels_last+bf16', 30.0),
        row('pspnet_repvgg_b1g2_fast', 'deploy', 'fp16', None, status='wrong',
            note='relative max error 3.00e-01 > 1e-02: not timed',
            rel_max_err=float('inf')),
    ]


def test_ratios_only_against_same_form_and_mode(rows):
    add_ratios(rows, 'pspnet_r50', matmul_tflops=70.0)
    assert rows[0].ratio_to_baseline == 1.0
    assert rows[2].ratio_to_baseline == pytest.approx(1.1)
    assert rows[1].ratio_to_baseline is None  # no training-form baseline row
    assert rows[3].ratio_to_baseline is None  # nor a bf16 one
    assert rows[2].matmul_fraction == pytest.approx(0.15)
    with pytest.raises(ValueError, match='not among the configs'):
        add_ratios(rows, 'pspnet_r101')


def test_table_pairs_and_speedups(rows):
    add_ratios(rows, 'pspnet_r50')
    table = format_table(rows, 'pspnet_r50')
    assert table.splitlines()[0].split()[:5] == ['config', 'form', 'mode',
                                                 'ms/batch', 'img/s']
    assert 'x pspnet_r50' in table and '% matmul' not in table
    assert 'fp16: wrong: relative max error 3.00e-01' in table
    pairs = format_pairs(rows)
    assert 'pspnet_repvgg_b1g2_fast / pspnet_r50 [deploy/fp32]: 1.10 (paper, ' \
        '1080Ti fp32: 1.05)' in pairs
    assert 'b2_fast' not in pairs  # pairs without both configs are left out
    assert '1.38x' in format_deploy_speedups(rows)


def test_json_is_strict_and_csv_has_all_fields(rows, tmp_path):
    write_json(rows, str(tmp_path / 'out' / 'r.json'), meta={'k': 1})
    data = json.loads((tmp_path / 'out' / 'r.json').read_text())
    assert data['meta'] == {'k': 1} and len(data['rows']) == 5
    assert data['rows'][4]['rel_max_err'] is None  # inf is not JSON
    assert data['rows'][4]['status'] == 'wrong'
    write_csv(rows, str(tmp_path / 'r.csv'))
    with open(tmp_path / 'r.csv') as f:
        records = list(csv.DictReader(f))
    assert tuple(records[0]) == ROW_FIELDS
    assert records[2]['deploy_speedup'] == str(11 / 8)


def test_miou_defaults_to_table8_and_accepts_overrides(tmp_path):
    assert load_miou() == {k: v['miou'] for k, v in PAPER_TABLE8.items()}
    assert load_miou()['pspnet_repvgg_b2'] == 80.57
    path = tmp_path / 'm.json'
    path.write_text(json.dumps({'pspnet_r50': {'mIoU': 70.0, 'aAcc': 90},
                                'mine': 55.5}))
    values = load_miou(str(path))
    assert values['pspnet_r50'] == 70.0 and values['mine'] == 55.5
    assert values['pspnet_r101'] == 78.51
