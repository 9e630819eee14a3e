"""P on frames made by the inference API at full resolution: what a camera sends and an authorised party gets back.

    python tools/analysis/api_pose.py CONFIG CHECKPOINT [--pose-checkpoint P] [--out results/api-pose]

``tools/test.py`` (Tab. 1) builds every view inside 256-px letter-boxed frames: each person is resampled to
a 128-px portrait, replaced there, and pasted back. A native-resolution model is not used that way. Here
every people-mini val image, at its stored resolution, goes through ``mmrecanon.apis.anonymize_image``
(ground-truth person boxes, as ``frame_recovery.py``) and ``recover_image``; the frames are written as
lossless PNG and P is tested on them with the config's own test pipeline and metric (the same 256-px
letter-box and OKS mAP as Tab. 1, the "original" view of a test run, which is P on the frame as loaded):

* ``enhanced``: P on the privacy-enhanced frames y' (what the camera sends);
* ``recovered``: P on the recovered frames x' (what the authorised party gets);
* ``conventional``: P on the frames with A(x) pasted instead (the conventional baseline, same regions);
* ``original``: P on the originals (the reference, identical to Tab. 1's "o" column).

P is the checkpoint's, or ``--pose-checkpoint``'s (e.g. the frozen "pre"). ``--frames DIR`` tests P on the
frames an earlier run wrote (its ``--work-dir``/frames) instead of making them: so the Conventional P (a
model without G_X/G_Y) is tested on the same A(x) frames as Ours' P. Writes ``OUT.json``
(``<view>/ap50``, ``<view>/ap``) and ``OUT.md``. The frames stay in ``--work-dir``.
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, osp.join(ROOT, 'tools'))
VIEWS = ('original', 'conventional', 'enhanced', 'recovered')


def write_frames(model, dataset_cfg: dict, out_dir: str, key) -> dict:
    """Every view of every val image as PNG under ``out_dir/<view>/``; the annotation file of each view."""
    import cv2
    import numpy as np
    from mmengine.utils import ProgressBar

    from mmrecanon.apis import anonymize_image, recover_image
    from mmpose.structures.bbox import bbox_xywh2xyxy

    root = dataset_cfg['data_root']
    with open(osp.join(root, dataset_cfg['ann_file'])) as f:
        coco = json.load(f)
    boxes = {}
    for a in coco['annotations']:
        if not a.get('iscrowd'):
            boxes.setdefault(a['image_id'], []).append(a['bbox'])
    for view in VIEWS[1:]:
        os.makedirs(osp.join(out_dir, view), exist_ok=True)
    bar = ProgressBar(len(coco['images']))
    for info in coco['images']:
        img = cv2.imread(osp.join(root, dataset_cfg['data_prefix']['img'], info['file_name']))
        person = bbox_xywh2xyxy(np.asarray(boxes.get(info['id'], []), np.float32).reshape(-1, 4))
        anon = anonymize_image(model, img, boxes=person, key=key, estimate=False)
        frames = dict(enhanced=anon['enhanced'],
                      recovered=recover_image(model, anon['enhanced'], anon['boxes'], key=key,
                                              nonces=anon.get('nonces'), key_check=anon.get('key_check')),
                      conventional=anonymize_image(model, img, boxes=person, use_desensitizer=True,
                                                   estimate=False)['enhanced'])
        name = osp.splitext(info['file_name'])[0] + '.png'
        for view, frame in frames.items():
            cv2.imwrite(osp.join(out_dir, view, name), frame)
        bar.update()
    print()
    png = dict(coco, images=[dict(i, file_name=osp.splitext(i['file_name'])[0] + '.png') for i in coco['images']])
    ann = osp.join(out_dir, 'annotations_png.json')
    with open(ann, 'w') as f:
        json.dump(png, f)
    return frame_views(out_dir)


def frame_views(out_dir: str) -> dict:
    """The dataset settings (``ann_file``, ``data_prefix``) of every view :func:`write_frames` wrote."""
    from mmrecanon.runtime import fail
    ann = osp.abspath(osp.join(out_dir, 'annotations_png.json'))
    missing = [p for p in [ann] + [osp.join(out_dir, v) for v in VIEWS[1:]] if not osp.exists(p)]
    if missing:
        fail(f'{out_dir}: not the frames of an api_pose run ({missing[0]} missing)')
    return {view: dict(ann_file=ann, data_prefix=dict(img=osp.abspath(osp.join(out_dir, view)) + '/'))
            for view in VIEWS[1:]}


def measure(args) -> dict:
    """Frames (made or given), then one test run of P per view: ``<view>/ap50``, ``<view>/ap`` in points."""
    import test as test_tool
    test_tool.import_mmrecanon()
    from mmengine.model import is_model_wrapper

    from mmrecanon.apis import init_recanon
    from mmrecanon.models.utils.keylock import generate_key
    from mmrecanon.runtime import build_runner, fail
    t0, load = time.time(), os.getloadavg()[0]
    if args.frames:
        views = frame_views(args.frames)
    else:
        model = init_recanon(args.config, args.checkpoint, pose_checkpoint=args.pose_checkpoint)
        if not model.has_generators or not model.can_recover:
            fail(f"{args.config}: the model has no G_X/G_Y, so there are no y' and x' frames to test P on "
                 '(test its P on the frames of another run with --frames)')
        key = generate_key() if model.key_lock is not None else None
        views = write_frames(model, model.cfg.test_dataloader.dataset, osp.join(args.work_dir, 'frames'), key)
        del model

    meta, state_dict = test_tool.read_checkpoint(args.checkpoint)
    checkpoint = args.checkpoint
    if args.pose_checkpoint:
        checkpoint, meta, state_dict = test_tool.with_pose(args, state_dict, meta)
    out = dict(command='python tools/analysis/api_pose.py ' + ' '.join(args.argv), config=args.config,
               checkpoint=args.checkpoint, pose_checkpoint=args.pose_checkpoint, frames=args.frames,
               load_before=round(load, 2))
    for view in VIEWS:
        options = {'test_dataloader.num_workers': 1}
        if view != 'original':
            options.update({'test_dataloader.dataset.ann_file': views[view]['ann_file'],
                            'test_dataloader.dataset.data_prefix': views[view]['data_prefix']})
        runner = build_runner(args.config, work_dir=osp.join(args.work_dir, view), load_from=checkpoint,
                              cfg_options=options)
        net = runner.model.module if is_model_wrapper(runner.model) else runner.model
        test_tool.check_checkpoint(net, state_dict, meta, args.checkpoint, args.config)
        metrics = runner.test() or {}
        out[f'{view}/ap50'] = 100 * metrics['original/coco/AP .5']
        out[f'{view}/ap'] = 100 * metrics['original/coco/AP']
        print(f"{view}: mAP@0.5 {out[f'{view}/ap50']:.1f}  AP {out[f'{view}/ap']:.1f}", flush=True)
    out.update(wall_s=round(time.time() - t0, 1), load_after=round(os.getloadavg()[0], 2))
    return out


def render(out: dict) -> str:
    lines = ['| frames through the inference API at full resolution | mAP@0.5 | AP |', '|---|---:|---:|']
    lines += [f"| {v} | {out[f'{v}/ap50']:.1f} | {out[f'{v}/ap']:.1f} |" for v in VIEWS]
    lines += ['', f"`{out['command']}` ({out['wall_s']:.0f} s, load {out['load_before']:.1f} at the start, "
              f"{out['load_after']:.1f} at the end)"]
    return '\n'.join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--pose-checkpoint', help="P's weights from their own file (tools/test.py's option)")
    parser.add_argument('--out', default=osp.join(ROOT, 'results', 'api-pose'))
    parser.add_argument('--work-dir', default=osp.join(ROOT, 'work_dirs', 'api_pose'))
    parser.add_argument('--frames', help="test P on the frames of an earlier run (its --work-dir/frames)")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    sys.path.insert(0, ROOT)
    from mmrecanon.runtime import report_main
    return report_main(args, measure, render, files=(args.config, args.checkpoint, args.pose_checkpoint))


if __name__ == '__main__':
    sys.exit(main())
