"""The README's main job: anonymize and recover embedded photos of real people, write pictures + metrics.

    python tools/demo.py [--iters 40] [--out outputs/demo]

No arguments, no downloads.  It loads the shipped demo checkpoint (``mmrecanon/demo_assets/``, trained by
this project on people-mini, see README) — or ``--checkpoint`` — and, if neither exists, falls back to a
smoke that trains the CPU joint model (configs/cpu/recanon_blur_mmpose-tiny.py) for ``--iters`` iterations
on ../shared/data/mmpose-tiny.

For a checkpoint without P (make_demo_checkpoint.py's default: G_X/G_Y only), P is the COCO-pretrained
YOLOv8n-pose converted by this project's converter (AGPL-3.0 weights, so they are not shipped): the demo uses ``work_dirs/pretrained/yolov8n-pose_coco_fused.pth`` and makes
it from ``../shared/weights/yolov8n-pose-coco/`` (13 s) when it is missing; without either, no keypoints are drawn.

On scikit-image's public-domain photos of people (astronaut Eileen Collins, the cameraman) with their
person boxes given below, it runs A(x), G_X and G_Y, pastes the people back, estimates poses with P on
the original, the privacy-enhanced and the recovered photo, and writes:
  outputs/demo/<name>.png   original | A(x) | privacy-enhanced | recovered, P's keypoints on each
  outputs/demo/metrics.json PSNR/SSIM (scikit-image, Wang et al. settings) of each view vs the original,
                            inside the anonymized region, and how many people P finds in each view
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

import numpy as np  # noqa: E402

import mmrecanon  # noqa: E402,F401
from mmrecanon.runtime import fail  # noqa: E402

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/cpu/recanon_blur_mmpose-tiny.py'
# The shipped asset: G_X, G_Y and the pose band B of the blur "Ours + pose band" run (results/pose-band.md: the
# native-resolution carrier model, continued four times (the last two with the SSIM term in L_cons), then 10 joint
# epochs with the pretrained P and the band; seed 1 of the config, 2026-12-07), float16. It holds no
# P: P comes from POSE below (the converted COCO-pretrained YOLOv8n-pose, AGPL-3.0, never shipped); G_X/G_Y/B were
# trained with that P's loss, not from its weights. Its config is that run's (init_recanon builds P from POSE,
# not from the config's `load_from`). The phase-1 generators the Ours runs start from are the other assets
# (demo_assets/recanon-native-continued4-ssim_blur_people-mini.pth for this config).
ASSET = 'mmrecanon/demo_assets/recanon-ours-band_blur_people-mini.pth'
ASSET_CONFIG = 'configs/cpu/recanon-ours-band_blur_people-mini_yolo.py'
# P: the converter's output (the path the configs' `pretrained_pose` names) and where it is made from
POSE = 'work_dirs/pretrained/yolov8n-pose_coco_fused.pth'
POSE_SOURCE = '../shared/weights/yolov8n-pose-coco/yolov8n-pose_fused_float.npz'
# Person boxes (x1, y1, x2, y2) in the scikit-image photos, set by hand (no detector is trained yet).
SAMPLES = {
    'astronaut': ('astronaut', [[130, 20, 470, 512]]),
    'cameraman': ('camera', [[150, 30, 380, 512]]),
}


def load_samples():
    from skimage import data
    import cv2
    out = {}
    for name, (fn, boxes) in SAMPLES.items():
        img = getattr(data, fn)()
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR) if img.ndim == 2 else img[..., ::-1].copy()
        out[name] = (np.ascontiguousarray(img), np.asarray(boxes, np.float32))
    return out


def train_smoke(iters: int, work_dir: str) -> str:
    from mmpose.utils import register_all_modules
    from mmrecanon.runtime import build_runner
    register_all_modules(init_default_scope=True)
    runner = build_runner(CONFIG, work_dir=work_dir, cfg_options={
        'train_cfg.max_iters': iters, 'train_cfg.val_interval': iters + 1,
        'default_hooks.checkpoint.interval': iters, 'default_hooks.logger.interval': max(1, iters // 4)})
    runner.train()
    return osp.join(work_dir, f'iter_{iters}.pth')


def has_pose(checkpoint: str) -> bool:
    """Whether a ReCanon checkpoint holds P's weights (the demo asset does not)."""
    import torch
    try:
        state = torch.load(checkpoint, map_location='cpu', weights_only=True)
    except Exception:  # noqa: BLE001 - unreadable: init_recanon reports it in one line
        return True
    from mmrecanon.io.checkpoint import POSE, has_part
    return has_part(state.get('state_dict', state), POSE)


def pose_weights():
    """The converted COCO-pretrained P (made from ``POSE_SOURCE`` if missing), or None."""
    if not osp.isfile(POSE) and osp.isfile(POSE_SOURCE):
        sys.path.insert(0, osp.join(ROOT, 'tools', 'model_converters'))
        import yolov8_pose_to_mmrecanon
        print(f'converting the COCO-pretrained P (AGPL-3.0) into {POSE} ...')
        if yolov8_pose_to_mmrecanon.main([POSE_SOURCE, POSE]) != 0:
            return None
    return POSE if osp.isfile(POSE) else None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', help='a ReCanon checkpoint to use instead of the shipped one')
    parser.add_argument('--config', help=f'config of --checkpoint (default {ASSET_CONFIG})')
    parser.add_argument('--iters', type=int, default=40, help='smoke-training iterations (default 40)')
    parser.add_argument('--out', default='outputs/demo', help='output folder (default outputs/demo)')
    args = parser.parse_args(argv)

    import cv2

    from mmrecanon.apis import anonymize_image, estimate_poses, init_recanon, recover_image
    from mmrecanon.evaluation import PortraitQualityMetric as Q  # the metric's PSNR/SSIM settings
    from mmrecanon.models.utils.portrait import portrait_mask
    from mmrecanon.visualization import draw_panel
    import torch

    t0 = time.time()
    args.out = osp.abspath(args.out)
    os.chdir(ROOT)  # configs name their data relative to the repository root
    os.makedirs(args.out, exist_ok=True)
    ckpt, config = args.checkpoint, args.config or ASSET_CONFIG
    if ckpt is None and osp.isfile(ASSET):
        ckpt = ASSET
    elif ckpt is None:
        if not osp.isdir('../shared/data/mmpose-tiny'):
            fail('no demo checkpoint shipped and ../shared/data/mmpose-tiny is missing; pass --checkpoint')
        ckpt, config = train_smoke(args.iters, osp.join(args.out, 'train')), CONFIG
    pose, with_pose = None, True
    if not has_pose(ckpt):  # the asset holds G_X and G_Y only (P's weights are AGPL-3.0)
        pose = pose_weights()
        if pose is None:
            print(f'no P weights ({POSE} or {POSE_SOURCE}): poses are not estimated')
            with_pose = False
    try:
        model = init_recanon(config, ckpt, pose_checkpoint=pose, with_pose=with_pose)
    except (FileNotFoundError, ValueError) as e:
        fail(e)

    metrics = {'config': config, 'checkpoint': ckpt, 'pose_checkpoint': pose, 'images': {}}
    for name, (img, boxes) in load_samples().items():
        anon = anonymize_image(model, img, boxes=boxes, estimate=with_pose)
        rec = recover_image(model, anon['enhanced'], anon['boxes'])
        conv = anonymize_image(model, img, boxes=boxes, use_desensitizer=True, estimate=False)['enhanced']
        mask = portrait_mask(img.shape[:2], torch.as_tensor(np.asarray(anon['boxes']), dtype=torch.float32)).numpy()
        assert np.array_equal(anon['enhanced'][~mask], img[~mask]), 'background changed'
        ys, xs = np.where(mask)
        crop = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
        row = {}
        for view, im in (('A', conv), ('p', anon['enhanced']), ('r', rec)):
            row[f'psnr_o_{view}'] = Q.psnr(img[crop], im[crop])
            row[f'ssim_o_{view}'] = Q.ssim(img[crop], im[crop])
        metrics['images'][name] = row
        poses = {}
        if with_pose:
            poses = dict(original=estimate_poses(model, img, boxes), enhanced=anon['poses'],
                         recovered=estimate_poses(model, rec, boxes))
            row.update({f'people_found_{v}': int(len(p)) for v, p in poses.items()})
        panel = draw_panel(dict(original=img, conventional=conv, enhanced=anon['enhanced'], recovered=rec),
                           poses, model.dataset_meta)
        path = osp.join(args.out, f'{name}.png')
        cv2.imwrite(path, panel) or fail(f'cannot write {path}')
        print(f'{name}: ' + '  '.join(f'{k}={v:.2f}' if isinstance(v, float) else f'{k}={v}'
                                      for k, v in row.items()) + f'  -> {path}')
    metrics['seconds'] = round(time.time() - t0, 1)
    with open(osp.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)
    print(f"pictures and metrics.json in {args.out}/ ({metrics['seconds']} s)")


if __name__ == '__main__':
    main()
