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


def write_run(folder: Path, metrics: dict, method: str, desensitizer=None):
    from mmrecanon.evaluation import build_tables
    folder.mkdir(parents=True)
    tables = build_tables(metrics, method, desensitizer or dict(type='Desensitizer', kind='blur', radius=8))
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


def test_paper_report_keep_re_measures_one_kind_and_keeps_the_other(tmp_path):
    report = tool('paper_report')
    pix = dict(type='Desensitizer', kind='pixelate', block=12)
    runs = dict(
        blur_conv=write_run(tmp_path / 'bc', {'conventional/coco/AP .5': 0.04}, 'conventional'),
        blur_old=write_run(tmp_path / 'bo', {'enhanced/coco/AP .5': 0.03, 'portrait/psnr_o_r': 31.0}, 'ours'),
        blur_new=write_run(tmp_path / 'bn', {'enhanced/coco/AP .5': 0.11, 'portrait/psnr_o_r': 32.5}, 'ours'),
        pixel_conv=write_run(tmp_path / 'pc', {'conventional/coco/AP .5': 0.06}, 'conventional', pix),
        pixel_ours=write_run(tmp_path / 'po', {'enhanced/coco/AP .5': 0.02, 'portrait/psnr_o_r': 33.9}, 'ours', pix))
    old = tmp_path / 'old'
    assert report.main(['--out', str(old), '--run', 'blur', f'conventional={runs["blur_conv"]}',
                        f'ours={runs["blur_old"]}', '--run', 'pixel', f'conventional={runs["pixel_conv"]}',
                        f'ours={runs["pixel_ours"]}']) == 0
    data = json.loads((tmp_path / 'old.json').read_text())
    data['machine'] = 'two cores'  # a hand-written key of the report survives too
    (tmp_path / 'old.json').write_text(json.dumps(data))
    new = tmp_path / 'new'
    assert report.main(['--out', str(new), '--keep', str(tmp_path / 'old.json'), '--run', 'blur',
                        f'conventional={runs["blur_conv"]}', f'ours={runs["blur_new"]}']) == 0
    data = json.loads((tmp_path / 'new.json').read_text())
    s = data['summary']
    assert s['summary/blur/ours_p_minus_conv_p_ap50'] == pytest.approx(7.0)     # re-measured: 11 % − 4 %
    assert s['summary/pixel/ours_p_minus_conv_p_ap50'] == pytest.approx(-4.0)   # kept: 2 % − 6 %
    assert s['summary/blur/psnr_o_r'] == 32.5 and s['summary/pixel/psnr_o_r'] == 33.9
    assert data['machine'] == 'two cores'
    assert data['metrics']['blur_ours']['enhanced/coco/AP .5'] == 0.11
    rows = {(r['desensitizer'], r['method']): r['values']['psnr_o_r'] for r in data['tables']['main']['rows']}
    assert rows == {('blur r=8', 'Conventional'): None, ('blur r=8', 'Ours'): 32.5,
                    ('pixelate r=12', 'Conventional'): None, ('pixelate r=12', 'Ours'): 33.9}
    assert report.main(['--out', str(new), '--keep', str(tmp_path / 'missing.json'), '--run', 'blur',
                        f'ours={runs["blur_new"]}']) == 2


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
