"""Tests of mmrecanon.evaluation: portrait PSNR/SSIM, multi-view pose metrics,
matched PCKh, the table writer and tools/test.py / tools/analysis/ablation_table.py."""
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.structures import InstanceData
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from mmpose.datasets.datasets.utils import parse_pose_metainfo
from mmpose.registry import METRICS
from mmpose.structures import PoseDataSample
from mmrecanon.evaluation.metrics import (MatchedPCKhMetric, MultiViewPoseMetric,
                                          PortraitQualityMetric)
from mmrecanon.evaluation.tables import (build_ablation_table, build_tables,
                                         describe_desensitizer, merge_result_files,
                                         merge_tables,
                                         render_ablation_markdown, render_markdown)

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT / '..' / 'shared' / 'data'
COCO_JSON = SHARED / 'mmpose-tiny' / 'coco' / 'test_coco.json'
PYTHON = sys.executable


# ---------------------------------------------------------------------------- helpers
def astronaut_crops(n: int, size: int = 64) -> np.ndarray:
    """n different (size, size, 3) uint8 BGR crops of skimage's astronaut."""
    img = skdata.astronaut()[..., ::-1]  # RGB -> BGR like MMPose
    return np.stack([img[100 + 60 * i:100 + 60 * i + size, 150 + 50 * i:150 + 50 * i + size]
                     for i in range(n)])


def blur(crops: np.ndarray) -> np.ndarray:
    return np.stack([cv2.GaussianBlur(c, (0, 0), 2.0) for c in crops])


def pixelate(crops: np.ndarray, block: int = 8) -> np.ndarray:
    out = []
    for c in crops:
        small = cv2.resize(c, (c.shape[1] // block, c.shape[0] // block),
                           interpolation=cv2.INTER_AREA)
        out.append(cv2.resize(small, c.shape[1::-1], interpolation=cv2.INTER_NEAREST))
    return np.stack(out)


def sk_psnr(a, b):
    return peak_signal_noise_ratio(a, b, data_range=255)


def sk_ssim(a, b):
    return structural_similarity(a, b, data_range=255, channel_axis=-1, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False)


def portrait_sample(**crops) -> PoseDataSample:
    n = len(next(iter(crops.values())))
    ds = PoseDataSample()
    ds.portraits = InstanceData(bboxes=np.zeros((n, 4), np.float32), **crops)
    return ds


def run_evaluator(metric, samples, dataset_meta=None):
    """Through MMEngine's Evaluator, i.e. with ``data_sample.to_dict()`` dicts."""
    evaluator = Evaluator(metric)
    if dataset_meta is not None:
        evaluator.dataset_meta = dataset_meta
    evaluator.process(data_samples=samples, data_batch=None)
    return evaluator.evaluate(len(samples))


# ---------------------------------------------------------------------------- portraits
def test_psnr_identical_crops_are_capped_and_ssim_is_one():
    x = astronaut_crops(2)
    assert PortraitQualityMetric.psnr(x[0], x[0]) == math.inf
    res = run_evaluator(PortraitQualityMetric(), [portrait_sample(original=x, recovered=x.copy())])
    assert res == {'portrait/psnr_o_r': 100.0, 'portrait/ssim_o_r': 1.0,
                   'portrait/num_portraits': 2}
    # the cap is configurable and only replaces inf
    res = run_evaluator(PortraitQualityMetric(psnr_cap=60), [portrait_sample(
        original=x, recovered=np.stack([x[0], blur(x[1:])[0]]))])
    assert res['portrait/psnr_o_r'] == pytest.approx((60 + sk_psnr(x[1], blur(x[1:])[0])) / 2)


def test_portrait_quality_equals_skimage_over_all_crops():
    x = astronaut_crops(3)
    rng = np.random.default_rng(0)
    noisy = np.clip(x.astype(np.int16) + rng.integers(-3, 4, x.shape), 0, 255).astype(np.uint8)
    y, a = blur(x), pixelate(x)
    samples = [
        portrait_sample(original=x[:2], enhanced=y[:2], recovered=noisy[:2], conventional=a[:2]),
        portrait_sample(original=x[2:], enhanced=y[2:], recovered=noisy[2:], conventional=a[2:]),
        # a frame without people and a sample without portraits count nothing
        portrait_sample(**{k: np.zeros((0, 64, 64, 3), np.uint8)
                           for k in ('original', 'enhanced', 'recovered', 'conventional')}),
        PoseDataSample(),
    ]
    res = run_evaluator(PortraitQualityMetric(), samples)
    expected = {
        'portrait/psnr_o_p': np.mean([sk_psnr(o, v) for o, v in zip(x, y)]),
        'portrait/ssim_o_p': np.mean([sk_ssim(o, v) for o, v in zip(x, y)]),
        'portrait/psnr_o_r': np.mean([sk_psnr(o, v) for o, v in zip(x, noisy)]),
        'portrait/ssim_o_r': np.mean([sk_ssim(o, v) for o, v in zip(x, noisy)]),
        'portrait/psnr_o_A': np.mean([sk_psnr(o, v) for o, v in zip(x, a)]),
        'portrait/ssim_o_A': np.mean([sk_ssim(o, v) for o, v in zip(x, a)]),
    }
    # visible leak: PSNR of the Gaussian (sigma 2) low-passed p and A against the original
    metric = PortraitQualityMetric()
    expected['portrait/psnr_lp_o_p'] = np.mean([sk_psnr(o, metric.lowpass(v)) for o, v in zip(x, y)])
    expected['portrait/psnr_lp_o_A'] = np.mean([sk_psnr(o, metric.lowpass(v)) for o, v in zip(x, a)])
    expected['portrait/leak_db'] = expected['portrait/psnr_lp_o_p'] - expected['portrait/psnr_lp_o_A']
    assert res.pop('portrait/num_portraits') == 3
    assert res.keys() == expected.keys()
    for key, value in expected.items():
        assert res[key] == pytest.approx(value, rel=1e-12), key
    # sanity of the fixed blur: a clearly degraded but recognisable crop
    assert 20 < res['portrait/psnr_o_p'] < 35 and 0.4 < res['portrait/ssim_o_p'] < 0.95
    assert res['portrait/psnr_o_r'] > 40 and res['portrait/ssim_o_r'] > 0.97


def test_portrait_quality_conventional_baseline_and_bad_shapes():
    x = astronaut_crops(2)
    res = run_evaluator(PortraitQualityMetric(), [portrait_sample(original=x, conventional=blur(x))])
    assert set(res) == {'portrait/psnr_o_A', 'portrait/ssim_o_A', 'portrait/num_portraits'}
    assert res['portrait/psnr_o_A'] == pytest.approx(
        np.mean([sk_psnr(o, v) for o, v in zip(x, blur(x))]), rel=1e-12)
    metric = PortraitQualityMetric()
    bad = portrait_sample(original=x).to_dict()
    bad['portraits']['enhanced'] = x[:, :32]
    with pytest.raises(ValueError, match='portraits.enhanced has shape'):
        metric.process(None, [bad])
    with pytest.raises(ValueError, match='psnr_cap'):
        PortraitQualityMetric(psnr_cap=0)


# ---------------------------------------------------------------------------- multi-view COCO
@pytest.fixture(scope='module')
def coco_meta():
    return parse_pose_metainfo(dict(from_file='configs/_base_/datasets/coco.py'))


def coco_gt_samples(far_ann_ids=()):
    """One bottom-up data sample per image of test_coco.json: GT persons with
    keypoints as predictions for 'original'; 'enhanced' has the persons in
    ``far_ann_ids`` moved 5000 px away with a lower score."""
    if not COCO_JSON.is_file():
        pytest.skip(f'shared data not present: {COCO_JSON}')
    coco = json.loads(COCO_JSON.read_text())
    samples = []
    for img in coco['images']:
        anns = [a for a in coco['annotations'] if a['image_id'] == img['id']]
        persons = [a for a in anns if a['num_keypoints'] > 0]
        kpts = np.array([a['keypoints'] for a in persons], np.float32).reshape(-1, 17, 3)
        boxes = np.array([a['bbox'] for a in persons], np.float32).reshape(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        far = np.array([a['id'] in far_ann_ids for a in persons], bool)
        moved = kpts[..., :2].copy()
        moved[far] += 5000
        ds = PoseDataSample(metainfo=dict(id=[a['id'] for a in anns], img_id=img['id'],
                                          ori_shape=(img['height'], img['width'])))
        ds.gt_instances = InstanceData(keypoints=kpts[..., :2], keypoints_visible=kpts[..., 2] > 0)
        scores = np.ones((len(persons), 17), np.float32)
        ds.pred_instances_original = InstanceData(keypoints=kpts[..., :2], keypoint_scores=scores,
                                                  bboxes=boxes,
                                                  bbox_scores=np.ones(len(persons), np.float32))
        ds.pred_instances_enhanced = InstanceData(keypoints=moved, keypoint_scores=scores,
                                                  bboxes=boxes,
                                                  bbox_scores=np.where(far, 0.5, 1.0))
        ds.pred_instances = ds.pred_instances_enhanced
        samples.append(ds)
    return samples


def test_multiview_coco_metric_per_view(coco_meta):
    if not COCO_JSON.is_file():
        pytest.skip(f'shared data not present: {COCO_JSON}')
    coco = json.loads(COCO_JSON.read_text())
    persons = [a for a in coco['annotations'] if a['num_keypoints'] > 0]
    assert len(persons) == 12
    far = {a['id'] for a in persons[-4:]}  # 4 of the 12 annotated persons are missed
    samples = coco_gt_samples(far)
    # a zero-shot view present in only one of the four samples is skipped (with a warning)
    samples[0].pred_instances_zeroshot = samples[0].pred_instances_original
    metric = MultiViewPoseMetric(metric=dict(type='CocoMetric', ann_file=str(COCO_JSON)))
    res = run_evaluator(metric, samples, coco_meta)
    # GT keypoints as predictions: perfect; no recovered / conventional / zeroshot keys
    assert res['original/coco/AP'] == pytest.approx(1.0)
    assert res['original/coco/AP .5'] == pytest.approx(1.0)
    assert res['original/coco/AR .5'] == pytest.approx(1.0)
    assert {k.split('/')[0] for k in res} == {'original', 'enhanced'}
    # 8 of 12 persons found, the 4 misses rank last: recall 8/12 and precision 1 up to it,
    # so COCO's 101-point AP is (number of recall thresholds 0, .01, ... <= 2/3) / 101 = 67 / 101
    assert res['enhanced/coco/AR .5'] == pytest.approx(8 / 12)
    assert res['enhanced/coco/AP .5'] == pytest.approx(67 / 101)
    assert res['enhanced/coco/AP'] < 1.0


def test_multiview_metric_validation_and_meta_propagation(coco_meta):
    with pytest.raises(TypeError, match='metric must be a dict'):
        MultiViewPoseMetric(metric='CocoMetric')
    with pytest.raises(ValueError, match='views must be unique'):
        MultiViewPoseMetric(metric=dict(type='MatchedPCKhMetric'), views=('original', 'original'))
    metric = METRICS.build(dict(type='MultiViewPoseMetric', metric=dict(type='MatchedPCKhMetric'),
                                views=('original', 'enhanced')))
    metric.dataset_meta = coco_meta
    for inner in metric.inner_metrics.values():
        assert inner[0].dataset_meta['sigmas'].tolist() == coco_meta['sigmas'].tolist()
        assert inner[0].dataset_meta is not coco_meta


# ---------------------------------------------------------------------------- matched PCKh
def mpii_two_person_sample(reverse_preds=False):
    """GT A and B (16 MPII joints, head size 10 each; B's joint 15 not visible).
    Predictions: a spurious person far away, and A with joints 0-9 off by 3 px
    (correct at 0.5 x 10 px) and joints 10-15 off by 7 px (wrong). B is missed."""
    rng = np.random.default_rng(1)
    gt_a = rng.uniform(100, 200, (16, 2))
    gt_b = rng.uniform(400, 500, (16, 2))
    vis = np.ones((2, 16), bool)
    vis[1, 15] = False
    pred_a = gt_a.copy()
    pred_a[:10, 0] += 3
    pred_a[10:, 1] += 7
    preds = [gt_b + 5000, pred_a]
    if reverse_preds:
        preds = preds[::-1]
    preds = np.stack(preds)
    ds = PoseDataSample()
    ds.gt_instances = InstanceData(keypoints=np.stack([gt_a, gt_b]), keypoints_visible=vis,
                                   head_size=np.array([[10.0], [10.0]]))
    boxes = np.concatenate([preds.min(1), preds.max(1)], axis=1)
    ds.gt_instances.bboxes = np.concatenate([np.stack([gt_a, gt_b]).min(1),
                                            np.stack([gt_a, gt_b]).max(1)], axis=1)
    ds.pred_instances = InstanceData(keypoints=preds, keypoint_scores=np.ones((2, 16)),
                                     bboxes=boxes)
    return ds


@pytest.mark.parametrize('reverse', [False, True])
@pytest.mark.parametrize('match_by', ['oks', 'bbox_iou'])
def test_matched_pckh_two_persons(reverse, match_by):
    res = run_evaluator(MatchedPCKhMetric(match_by=match_by),
                        [mpii_two_person_sample(reverse)])
    # MPII statistics exclude pelvis (6) and thorax (7): 14 joints of A + 13 visible of B = 27;
    # A has joints 0-5, 8, 9 right (8), B is unmatched (all wrong)
    assert res['pckh/PCKh'] == pytest.approx(100 * 8 / 27, rel=1e-6)
    assert res['pckh/Head PCKh'] == pytest.approx(50.0)  # joint 9: A right, B wrong
    assert res['pckh/Ankle PCKh'] == pytest.approx(50.0)  # joints 0, 5
    assert res['pckh/Wrist PCKh'] == pytest.approx(0.0)  # joints 10, 15
    assert res['pckh/PCKh@0.1'] == pytest.approx(0.0)  # 3 px > 0.1 x 10 px
    assert res['pckh/num_gt_persons'] == 2 and res['pckh/num_matched'] == 1


def test_matched_pckh_generic_keypoints_and_head_fallback():
    # 4 keypoints (not MPII): keypoint_pck_accuracy, head size from keypoints 0-1 (= 10 px)
    gt = np.array([[[0, 0], [0, 10], [20, 0], [20, 10]]], np.float64)
    pred = gt.copy()
    pred[0, 2] += [6, 0]  # wrong (> 5 px)
    pred[0, 3] += [0, 4]  # right
    ds = PoseDataSample()
    ds.gt_instances = InstanceData(keypoints=gt, keypoints_visible=np.ones((1, 4)))
    ds.pred_instances = InstanceData(keypoints=pred, keypoint_scores=np.ones((1, 4)))
    res = run_evaluator(MatchedPCKhMetric(head_size_keypoints=(0, 1)), [ds])
    assert res == {'pckh/PCKh': pytest.approx(75.0), 'pckh/num_gt_persons': 1,
                   'pckh/num_matched': 1}
    with pytest.raises(ValueError, match="match_by must be 'oks' or 'bbox_iou'"):
        MatchedPCKhMetric(match_by='center')


def test_multiview_with_matched_pckh():
    ds = mpii_two_person_sample()
    ds.pred_instances_recovered = ds.pred_instances
    perfect = ds.gt_instances.keypoints.copy()
    ds.pred_instances_original = InstanceData(keypoints=perfect, keypoint_scores=np.ones((2, 16)))
    res = run_evaluator(MultiViewPoseMetric(metric=dict(type='MatchedPCKhMetric')), [ds])
    assert res['original/pckh/PCKh'] == pytest.approx(100.0)
    assert res['recovered/pckh/PCKh'] == pytest.approx(100 * 8 / 27, rel=1e-6)
    assert 'enhanced/pckh/PCKh' not in res


# ---------------------------------------------------------------------------- tables
OURS_METRICS = {
    'portrait/psnr_o_p': 21.23456, 'portrait/ssim_o_p': 0.61234, 'portrait/psnr_o_r': 31.5,
    'portrait/ssim_o_r': 0.9412, 'portrait/psnr_o_A': 24.0, 'portrait/ssim_o_A': 0.7,
    'portrait/num_portraits': 14,
    'original/coco/AP': 0.61, 'original/coco/AP .5': 0.854, 'original/coco/AR .5': 0.9,
    'original/coco/AR': 0.66,
    'enhanced/coco/AP': 0.5, 'enhanced/coco/AP .5': 0.80123, 'enhanced/coco/AR .5': 0.85,
    'enhanced/coco/AR': 0.55,
    'recovered/coco/AP': 0.6, 'recovered/coco/AP .5': 0.84, 'recovered/coco/AR .5': 0.88,
    'recovered/coco/AR': 0.65,
    'conventional/coco/AP': 0.4, 'conventional/coco/AP .5': 0.7, 'conventional/coco/AR .5': 0.75,
    'conventional/coco/AR': 0.45,
}
CONV_METRICS = {
    'portrait/psnr_o_A': 24.5, 'portrait/ssim_o_A': 0.72, 'portrait/num_portraits': 14,
    'original/coco/AP .5': 0.85, 'original/coco/AR .5': 0.9,
    'conventional/coco/AP .5': 0.7777, 'conventional/coco/AR .5': 0.8,
}
BLUR8 = dict(type='Desensitizer', kind='blur', radius=8)


def table_cells(markdown: str, first: str, second: str):
    for line in markdown.splitlines():
        cells = [c.strip() for c in line.strip('|').split('|')]
        if cells[:2] == [first, second]:
            return cells
    raise AssertionError(f'no row {first} / {second} in\n{markdown}')


def test_tables_cells_and_missing_values(tmp_path):
    ours = build_tables(OURS_METRICS, 'ours', BLUR8)
    assert ours['dataset'] == 'COCO'
    values = ours['main']['rows'][0]['values']
    assert values['psnr_o_p'] == 21.23456 and values['enhanced/mAP@0.5'] == 0.80123
    assert values['zeroshot/mAP@0.5'] is None
    md = render_markdown(ours)
    assert md.startswith('### Table 1 (COCO)')
    header = table_cells(md, 'Desensitizer', 'Method')
    assert header[2:9] == ['PSNR(o,p)', 'SSIM(o,p)', 'leak (dB)', 'PSNR(o,r)', 'SSIM(o,r)', 'mAP@0.5 o',
                           'mAR@0.5 o']
    cells = table_cells(md, 'blur r=8', 'Ours')
    assert cells[2:] == ['21.23', '0.6123', '—', '31.50', '0.9412', '85.4', '90.0', '80.1', '85.0',
                         '84.0', '88.0', '—', '—']
    # the full COCO AP/AR line per view
    full = [line for line in md.splitlines() if line.startswith('| blur r=8 | Ours |')][1]
    assert full.split('|')[3:-1] == [' 61.0 ', ' 66.0 ', ' 50.0 ', ' 55.0 ', ' 60.0 ', ' 65.0 ',
                                     ' 40.0 ', ' 45.0 ', ' — ', ' — ']

    # the conventional baseline: p = A(x) (psnr_o_A, view 'conventional'), no recovery
    conv = build_tables(CONV_METRICS, 'conventional', BLUR8)
    cells = table_cells(render_markdown(conv), 'blur r=8', 'Conventional')
    assert cells[2:] == ['24.50', '0.7200', '0.00', '—', '—', '85.0', '90.0', '77.8', '80.0', '—', '—',
                         '—', '—']
    assert 'Full COCO' not in render_markdown(conv)  # no full AP/AR values at all

    merged = merge_tables([ours, conv, build_tables(OURS_METRICS, 'ours', dict(
        type='Desensitizer', kind='pixelate', block=8))])
    labels = [(r['desensitizer'], r['method']) for r in merged['main']['rows']]
    assert labels == [('blur r=8', 'Conventional'), ('blur r=8', 'Ours'), ('pixelate r=8', 'Ours')]
    # the same from tables.json files as tools/test.py writes them
    for name, tables in (('ours', ours), ('conv', conv)):
        (tmp_path / f'{name}.json').write_text(json.dumps({'metrics': {}, 'tables': tables}))
    from_files = merge_result_files([tmp_path / 'ours.json', tmp_path / 'conv.json'])
    assert from_files == merge_tables([ours, conv])
    assert [r['method'] for r in from_files['main']['rows']] == ['Conventional', 'Ours']
    # and from the command line (a work dir or its tables.json)
    import importlib.util
    spec = importlib.util.spec_from_file_location('merge_tables', 'tools/analysis/merge_tables.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    (tmp_path / 'run').mkdir()
    (tmp_path / 'run' / 'tables.json').write_text((tmp_path / 'ours.json').read_text())
    assert tool.main([str(tmp_path / 'conv.json'), str(tmp_path / 'run'), '--out', str(tmp_path / 'm.md')]) == 0
    assert (tmp_path / 'm.md').read_text() == render_markdown(from_files)
    assert json.loads((tmp_path / 'm.json').read_text())['tables'] == from_files
    assert tool.main([str(tmp_path / 'missing.json'), '--out', str(tmp_path / 'x.md')]) == 2

    with pytest.raises(ValueError, match="method must be 'ours' or 'conventional'"):
        build_tables(OURS_METRICS, 'mine', BLUR8)


def test_mpii_table_and_desensitizer_labels():
    metrics = {'original/pckh/PCKh': 88.25, 'enhanced/pckh/PCKh': 80.0,
               'enhanced/coco/AP .5': 0.7}
    tables = build_tables(metrics, 'ours', 'pixelate r=12')
    assert tables['dataset'] == 'MPII'
    md = render_markdown(tables)
    assert md.startswith('### Table 2 (MPII)')
    header = table_cells(md, 'Desensitizer', 'Method')
    cells = dict(zip(header, table_cells(md, 'pixelate r=12', 'Ours')))
    assert cells['PCKh@0.5 o'] == '88.2' and cells['PCKh@0.5 p'] == '80.0'
    assert cells['mAP@0.5 p'] == '70.0' and cells['PCKh@0.5 r'] == '—'
    assert describe_desensitizer(dict(type='Desensitizer', kind='pixelate', radius=8,
                                      block=16)) == 'pixelate r=16'
    assert describe_desensitizer(dict(type='Desensitizer', kind='noise', sigma=25.0)) == \
        'noise σ=25'
    assert describe_desensitizer(dict(type='Desensitizer', kind='blur', radius=2.5)) == \
        'blur r=2.5'


def test_ablation_table_rows_sorted_by_r():
    results = []
    for kind, key, r in (('blur', 'radius', 8), ('pixelate', 'block', 4), ('blur', 'radius', 2)):
        metrics = dict(OURS_METRICS, **{'portrait/psnr_o_p': 20.0 + r})
        results.append({'work_dir': f'work_dirs/{kind}{r}',
                        'tables': build_tables(metrics, 'ours', {'kind': kind, key: r})})
    table = build_ablation_table(results)
    assert [(r['kind'], r['r']) for r in table['rows']] == [('blur', 2), ('blur', 8),
                                                             ('pixelate', 4)]
    md = render_ablation_markdown(table)
    assert table_cells(md, 'blur', '8')[2:4] == ['Ours', '28.00']
    assert table_cells(md, 'pixelate', '4')[2:4] == ['Ours', '24.00']


# ---------------------------------------------------------------------------- tools
def run_tool(*args, **kwargs):
    return subprocess.run([PYTHON, *map(str, args)], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, **kwargs)


def test_test_py_missing_files(tmp_path):
    proc = run_tool('tools/test.py', tmp_path / 'nope.py', tmp_path / 'nope.pth')
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"error: config file not found: {tmp_path / 'nope.py'}"]
    cfg = tmp_path / 'cfg.py'
    cfg.write_text('model = dict()\n')
    proc = run_tool('tools/test.py', cfg, tmp_path / 'nope.pth')
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: checkpoint file not found: {tmp_path / 'nope.pth'}"]
    proc = run_tool('tools/analysis/ablation_table.py', tmp_path)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith('error: no tables.json in')


FAKE_MODEL = '''
import numpy as np
import torch
from mmengine.model import BaseModel
from mmengine.structures import InstanceData
from mmpose.registry import MODELS


@MODELS.register_module()
class FakeRecanonForTest(BaseModel):
    """Predicts the GT keypoints on every view; recovered crops equal the originals."""

    def __init__(self, desensitizer=None):
        super().__init__()
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def forward(self, inputs, data_samples=None, mode='predict'):
        for ds in data_samples:
            gt = ds.gt_instances
            keep = np.asarray(gt.keypoints_visible).reshape(len(gt), -1).sum(1) > 0
            kpts = np.asarray(gt.keypoints)[keep]
            pred = InstanceData(keypoints=kpts, keypoint_scores=np.ones(kpts.shape[:2]),
                                bbox_scores=np.ones(len(kpts)))
            for view in ('original', 'enhanced', 'recovered', 'conventional'):
                ds.set_field(pred, f'pred_instances_{view}')
            ds.pred_instances = pred
            crops = np.random.default_rng(len(kpts)).integers(0, 256, (len(kpts), 16, 16, 3),
                                                              dtype=np.uint8)
            ds.portraits = InstanceData(bboxes=np.zeros((len(kpts), 4)), original=crops,
                                        enhanced=crops // 2, recovered=crops.copy(),
                                        conventional=crops // 3)
        return data_samples
'''


def test_test_py_end_to_end(tmp_path):
    if not COCO_JSON.is_file():
        pytest.skip(f'shared data not present: {COCO_JSON}')
    (tmp_path / 'fake_recanon_model.py').write_text(FAKE_MODEL)
    cfg = tmp_path / 'fake_cfg.py'
    cfg.write_text(textwrap.dedent(f'''
        default_scope = 'mmpose'
        custom_imports = dict(imports=['fake_recanon_model'], allow_failed_imports=False)
        model = dict(type='FakeRecanonForTest',
                     desensitizer=dict(type='Desensitizer', kind='pixelate', block=12))
        test_dataloader = dict(
            batch_size=2, num_workers=0,
            sampler=dict(type='DefaultSampler', shuffle=False),
            dataset=dict(type='CocoDataset', data_mode='bottomup', data_root='',
                         ann_file={str(COCO_JSON.resolve())!r},
                         data_prefix=dict(img={str(COCO_JSON.parent.resolve()) + '/'!r}),
                         test_mode=True,
                         pipeline=[dict(type='LoadImage'), dict(type='PackPoseInputs')]))
        test_cfg = dict()
        test_evaluator = [
            dict(type='PortraitQualityMetric'),
            dict(type='MultiViewPoseMetric',
                 metric=dict(type='CocoMetric', ann_file={str(COCO_JSON.resolve())!r}))]
        env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
        log_level = 'WARNING'
    '''))
    ckpt = tmp_path / 'model.pth'
    torch.save({'meta': {'recanon_method': 'ours'}, 'state_dict': {'dummy': torch.zeros(1)}}, ckpt)
    work_dir = tmp_path / 'work'
    out_json = tmp_path / 'out' / 'result.json'
    env = dict(__import__('os').environ, PYTHONPATH=str(tmp_path))
    proc = run_tool('tools/test.py', cfg, ckpt, '--work-dir', work_dir, '--out-json', out_json,
                    '--cfg-options', 'model.desensitizer.block=16', env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((work_dir / 'tables.json').read_text())
    assert json.loads(out_json.read_text()) == result
    assert result['method'] == 'ours' and result['config_name'] == 'fake_cfg'
    assert result['desensitizer']['kind'] == 'pixelate' and result['desensitizer']['block'] == 16
    metrics = result['metrics']
    assert metrics['original/coco/AP .5'] == pytest.approx(1.0)
    assert metrics['recovered/coco/AR .5'] == pytest.approx(1.0)
    assert metrics['portrait/psnr_o_r'] == 100.0 and metrics['portrait/ssim_o_r'] == 1.0
    assert metrics['portrait/num_portraits'] == 12
    md = (work_dir / 'tables.md').read_text()
    cells = table_cells(md, 'pixelate r=16', 'Ours')
    assert cells[5:13] == ['100.00', '1.0000', '100.0', '100.0', '100.0', '100.0', '100.0',
                           '100.0']
    assert md in proc.stdout

    # the ablation collector over two runs (same tables.json twice -> two identical rows)
    out = tmp_path / 'results' / 'ablation.md'
    proc = run_tool('tools/analysis/ablation_table.py', work_dir, work_dir / 'tables.json',
                    '--out', out)
    assert proc.returncode == 0, proc.stderr
    table = json.loads(out.with_suffix('.json').read_text())
    assert [(r['kind'], r['r']) for r in table['rows']] == [('pixelate', 16.0)] * 2
    assert '| pixelate | 16 | Ours | ' in out.read_text()


def test_keylock_table_only_for_key_locked_metrics():
    from mmrecanon.evaluation.tables import render_keylock_markdown
    assert render_keylock_markdown({'portrait/psnr_o_r': 30.0}) == ''
    md = render_keylock_markdown({'portrait/psnr_o_p': 20.0, 'portrait/ssim_o_p': 0.5, 'portrait/psnr_o_r': 30.0,
                                  'portrait/ssim_o_r': 0.9, 'portrait/psnr_o_r_wrongkey': 19.5,
                                  'portrait/ssim_o_r_wrongkey': 0.4, 'portrait/psnr_o_r_nokey': 18.25})
    assert '| recovered, right key | 30.00 | 0.9000 |' in md
    assert '| recovered, wrong key | 19.50 | 0.4000 |' in md
    assert '| recovered, no key | 18.25 | — |' in md
