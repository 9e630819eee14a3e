"""The report scripts behind results/people-mini.json and results/progressive.json: their numbers."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def tool(name):
    path = ROOT / 'tools' / 'analysis' / f'{name}.py'
    spec = importlib.util.spec_from_file_location(f'mmrecanon_analysis_{name}', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_run(folder: Path, metrics: dict, method: str):
    from mmrecanon.evaluation import build_tables
    folder.mkdir(parents=True)
    tables = build_tables(metrics, method, dict(type='Desensitizer', kind='blur', radius=8))
    (folder / 'tables.json').write_text(json.dumps(dict(metrics=metrics, tables=tables, method=method)))
    return folder


def test_paper_report_summary_is_the_issue_targets_in_points(tmp_path, capsys):
    report = tool('paper_report')
    pre = write_run(tmp_path / 'pre', {'original/coco/AP .5': 0.56, 'conventional/coco/AP .5': 0.01}, 'conventional')
    conv = write_run(tmp_path / 'conv', {'original/coco/AP .5': 0.50, 'conventional/coco/AP .5': 0.04}, 'conventional')
    ours = write_run(tmp_path / 'ours', {'original/coco/AP .5': 0.52, 'enhanced/coco/AP .5': 0.10,
                                         'recovered/coco/AP .5': 0.545, 'zeroshot/coco/AP .5': 0.014,
                                         'portrait/psnr_o_r': 32.5, 'portrait/leak_db': 0.1}, 'ours')
    out = tmp_path / 'res'
    assert report.main(['--out', str(out), '--run', 'blur', f'pre={pre}', f'conventional={conv}', f'ours={ours}']) == 0
    data = json.loads((tmp_path / 'res.json').read_text())
    s = data['summary']
    assert s['summary/blur/ours_p_minus_conv_p_ap50'] == pytest.approx(6.0)   # 10 % − 4 %
    assert s['summary/blur/ours_r_minus_pre_o_ap50'] == pytest.approx(-1.5)   # 54.5 % − 56 %
    assert s['summary/blur/zeroshot_p_over_pre_o_ap50'] == pytest.approx(0.025)
    assert s['summary/blur/psnr_o_r'] == 32.5 and s['summary/blur/leak_db'] == 0.1
    assert set(data['metrics']) == {'blur_pre', 'blur_conventional', 'blur_ours'}
    methods = [r['method'] for r in data['tables']['main']['rows']]
    assert methods == ['Conventional', 'Ours']  # "pre" gives columns, not a row
    assert report.main(['--out', str(out), '--run', 'blur', f'bad={pre}']) == 2
    assert 'expected NAME=DIR' in capsys.readouterr().err


def test_progressive_report_deltas(tmp_path):
    report = tool('progressive_report')
    on = write_run(tmp_path / 'on', {'enhanced/coco/AP .5': 0.12, 'portrait/psnr_o_p': 20.9}, 'ours')
    off = write_run(tmp_path / 'off', {'enhanced/coco/AP .5': 0.10, 'portrait/psnr_o_p': 20.5}, 'ours')
    for name, rate in (('a_on.json', 0.1), ('a_off.json', 0.05)):
        (tmp_path / name).write_text(json.dumps(dict(faces={"privacy-enhanced y'": dict(reid_rate=rate),
                                                           'conventional A(x)': dict(reid_rate=0.0),
                                                           'original': dict(faces=20)})))
    assert report.main(['--on', str(on), '--off', str(off), '--attack-on', str(tmp_path / 'a_on.json'),
                        '--attack-off', str(tmp_path / 'a_off.json'), '--out', str(tmp_path / 'p')]) == 0
    data = json.loads((tmp_path / 'p.json').read_text())
    assert data['delta']['p_ap50'] == pytest.approx(0.02)
    assert data['delta']['psnr_o_p'] == pytest.approx(0.4)
    assert data['delta']['reid_y'] == pytest.approx(0.05)
    assert data['rows']['on']['faces'] == 20 and data['delta']['r_ap50'] is None
