"""OKS AP of a P checkpoint on people-mini val: originals and zero-shot on A(x), per input size and subset.

    python tools/analysis/pose_pretrained.py work_dirs/pretrained/yolov8n-pose_coco_fused.pth \
        --sizes 640 320 --kinds blur pixel --name converted --out results/p-pretrained

P runs through the project's own inference: ``configs/cpu/conventional_people-mini_yolo.py`` (a
``ReCanon(method='conventional')`` whose P is the BN-free YOLOv8-n), MMPose's ``BottomupResize`` letter-box
to SIZE×SIZE, the head's decoding and NMS (score > 0.01, IoU 0.65), ``CocoMetric`` (top 20 by
COCOeval). The A(x) view is the conventional desensitizer applied to every person's 128-px portrait
(blur r = 8 or pixelation r = 12 at portrait scale) and pasted back, as Tab. 1's "Conventional" rows see it.
Subsets: ``all`` (73 val images; 25 have YOLO11n pseudo-labels) and ``gt`` (the 48 images with human
COCO labels, the reference's subset: its annotation file is written into the work dir).

Writes ``OUT.json`` (keys ``<name>_<size>[_gt]/{AP,AP50,AR50}`` for originals and
``<name>_<size>[_gt]/<kind>/{AP,AP50,AR50}`` for A(x); ``converted_640/AP`` etc. with ``--name converted``
and the gt subset as the unsuffixed key, see ``--main-subset``) and ``OUT.md`` with a table, the
command, wall times and the machine load. ``--merge`` adds to an existing JSON instead of replacing it.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = osp.join(ROOT, 'configs', 'cpu', 'conventional_people-mini_yolo.py')
KINDS = {'blur': dict(type='Desensitizer', kind='blur', radius=8),
         'pixel': dict(type='Desensitizer', kind='pixelate', block=12)}
STATS = (('AP', 'AP'), ('AP50', 'AP .5'), ('AR50', 'AR .5'))


def gt_subset(ann_file: str, out_file: str) -> str:
    with open(ann_file) as f:
        data = json.load(f)
    keep = {i['id'] for i in data['images'] if i.get('label_kind') == 'gt'}
    data['images'] = [i for i in data['images'] if i['id'] in keep]
    data['annotations'] = [a for a in data['annotations'] if a['image_id'] in keep]
    with open(out_file, 'w') as f:
        json.dump(data, f)
    return out_file


def evaluate(checkpoint: str, size: int, kind: str, ann_file: str, work_dir: str, config: str) -> dict:
    """Test run → {'original': {...}, kind: {...}} with AP / AP50 / AR50 (fractions)."""
    from mmrecanon.runtime import build_runner
    options = {
        'model.desensitizer': KINDS[kind],
        'test_dataloader.dataset.ann_file': osp.abspath(ann_file),
        'test_dataloader.dataset.data_root': '',
        'test_dataloader.dataset.data_prefix': dict(img=osp.join(ROOT, '..', 'shared', 'data', 'people-mini',
                                                                 'images') + '/'),
        'test_dataloader.dataset.pipeline.1.input_size': (size, size),
        'test_evaluator.1.metric.ann_file': osp.abspath(ann_file),
        'model.pose_estimator.init_cfg': None,
    }
    runner = build_runner(config, work_dir=work_dir, cfg_options=options)
    runner.load_checkpoint(checkpoint, map_location='cpu', strict=True,
                           revise_keys=[(r'^(?!pose_estimator\.)', 'pose_estimator.')])
    metrics = runner.test()
    out = {}
    for view, label in (('original', 'original'), ('conventional', kind)):
        out[label] = {key: float(metrics[f'{view}/coco/{name}']) for key, name in STATS}
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='P checkpoint (standalone P keys, or a ReCanon checkpoint)')
    parser.add_argument('--sizes', type=int, nargs='+', default=[640, 320])
    parser.add_argument('--kinds', nargs='+', choices=sorted(KINDS), default=['blur', 'pixel'])
    parser.add_argument('--subsets', nargs='+', choices=['gt', 'all'], default=['gt', 'all'])
    parser.add_argument('--name', default='converted', help='JSON key prefix (converted, pre, ...)')
    parser.add_argument('--config', default=CONFIG)
    parser.add_argument('--out', default=osp.join(ROOT, 'results', 'p-pretrained'))
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'pose_pretrained'))
    parser.add_argument('--merge', action='store_true', help='add to OUT.json instead of replacing it')
    args = parser.parse_args(argv)
    if not osp.isfile(args.checkpoint):
        print(f'error: checkpoint not found: {args.checkpoint}', file=sys.stderr)
        return 2
    sys.path.insert(0, ROOT)
    import mmrecanon  # noqa: F401

    os.makedirs(args.work_dir, exist_ok=True)
    val = osp.join(ROOT, '..', 'shared', 'data', 'people-mini', 'annotations', 'person_keypoints_val.json')
    anns = {'all': val, 'gt': gt_subset(val, osp.join(args.work_dir, 'person_keypoints_val_gt.json'))}
    result = {}
    if args.merge and osp.isfile(args.out + '.json'):
        with open(args.out + '.json') as f:
            result = json.load(f)
    runs = result.setdefault('runs', [])
    load = os.getloadavg()[0]
    for size in args.sizes:
        for subset in args.subsets:
            key = f'{args.name}_{size}' + ('' if subset == 'gt' else '_all')
            for i, kind in enumerate(args.kinds):
                t0 = time.time()
                views = evaluate(args.checkpoint, size, kind, anns[subset],
                                 osp.join(args.work_dir, f'{key}_{kind}'), args.config)
                if i == 0:
                    result.update({f'{key}/{k}': v for k, v in views['original'].items()})
                result.update({f'{key}/{kind}/{k}': v for k, v in views[kind].items()})
                runs.append(dict(key=key, kind=kind, subset=subset, size=size,
                                 wall_s=round(time.time() - t0, 1)))
    result['checkpoint'] = osp.relpath(osp.abspath(args.checkpoint), ROOT)
    result.setdefault('machine', {}).update(cpus=os.cpu_count(), load_before=round(load, 2),
                                            load_after=round(os.getloadavg()[0], 2))
    with open(args.out + '.json', 'w') as f:
        json.dump(result, f, indent=1, sort_keys=True)
    print(json.dumps({k: round(v, 4) for k, v in result.items() if isinstance(v, float)}, indent=1))
    return 0


if __name__ == '__main__':
    sys.exit(main())
