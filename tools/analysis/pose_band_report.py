"""Where the pose band puts its signal: B(x) on the faces, the bodies and the rest of val portraits.

    python tools/analysis/pose_band_report.py CONFIG CHECKPOINT [--ann-file A --img-dir D] [--out results/pose-band]

CONFIG is the run's config as it ran (the copy in its work dir holds its ``--cfg-options``: the band's
bound is not in the checkpoint). For every annotated person of a COCO person-keypoint set (default: people-mini val) with a visible face
keypoint: the 128-px portrait the model's portrait path cuts (``ReCanon.crop`` at the square box),
B(x) (``ReCanon.band``), the face disc of ``FaceSuppressionLoss`` from the ground-truth face keypoints
and the person's box. Prints and writes ``OUT.json``: mean |B| in grey levels on the face discs, in the
person box outside the face, outside the box, the band's share of |y' − A(x)|, and its *template share*:
the part of the band's energy that is the same for everybody (‖mean over people of B‖² / mean ‖B‖²; 1 = one
fixed pattern whatever the person, 0 = nothing in common); ``OUT.png``:
original (keypoints drawn) | A(x) | y' | |B| × 10 | x' for the first people.
"""
import argparse
import json
import os.path as osp
import sys

import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)
GREY = 127.5  # [-1, 1] units → grey levels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description='Where the pose band puts its signal')
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--ann-file', default='../shared/data/people-mini/annotations/person_keypoints_val.json')
    parser.add_argument('--img-dir', default='../shared/data/people-mini/images')
    parser.add_argument('--out', default='results/pose-band')
    parser.add_argument('--num-show', type=int, default=8)
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint, args.ann_file):
        if not osp.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2

    import cv2
    import torch
    from mmengine.utils import ProgressBar
    from xtcocotools.coco import COCO

    from mmrecanon.apis import init_recanon
    from mmrecanon.models.pose_band import FaceSuppressionLoss
    from mmrecanon.models.utils.portrait import keypoints_to_portrait, square_boxes

    try:
        model = init_recanon(args.config, args.checkpoint)
    except (FileNotFoundError, ValueError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 2
    if model.pose_band is None:
        print(f'error: {args.config} has no pose band (model.pose_band)', file=sys.stderr)
        return 2
    faces = model.band_face_loss or FaceSuppressionLoss()
    coco = COCO(args.ann_file)
    size = model.portrait_size
    sums = dict(face=[0.0, 0.0], body=[0.0, 0.0], outside=[0.0, 0.0])
    band_share, shown, people = [], [], 0
    band_sum, band_energy = None, 0.0
    img_ids = coco.getImgIds()
    bar = ProgressBar(len(img_ids))
    for img_id in img_ids:
        info = coco.loadImgs(img_id)[0]
        anns = [a for a in coco.loadAnns(coco.getAnnIds(imgIds=img_id, iscrowd=False)) if a.get('num_keypoints', 0)]
        img = cv2.imread(osp.join(args.img_dir, info['file_name']), cv2.IMREAD_COLOR)
        bar.update()
        if img is None or not anns:
            continue
        frame = torch.from_numpy(np.ascontiguousarray(img[..., ::-1])).permute(2, 0, 1)[None].float()
        person = torch.tensor([[a['bbox'][0], a['bbox'][1], a['bbox'][0] + a['bbox'][2], a['bbox'][1] + a['bbox'][3]]
                               for a in anns], dtype=torch.float32)
        boxes = square_boxes(person, model.portrait_margin)
        kp = torch.tensor([a['keypoints'] for a in anns], dtype=torch.float32).view(len(anns), -1, 3)
        kpts = keypoints_to_portrait(kp[..., :2] + 0.5, boxes, size) - 0.5  # COCO: pixel centres at integers
        vis = (kp[..., 2] > 0).float()
        with torch.no_grad():
            x = model.crop(frame, [boxes])
            trans = model.translate(x)
            band = trans['band'].abs().mean(1, keepdim=True) * GREY
        face = faces.face_masks(kpts, vis, size).bool()
        in_box = torch.zeros_like(face)
        pbox = keypoints_to_portrait(person.view(-1, 2, 2), boxes, size).round().long().clamp(0, size)
        for i, ((x0, y0), (x1, y1)) in enumerate(pbox.tolist()):
            in_box[i, :, y0:y1, x0:x1] = True
        deviation = (trans['enhanced'] - trans['conventional']).abs().mean((1, 2, 3)) * GREY
        for i in range(len(anns)):
            if not bool(face[i].any()):
                continue
            people += 1
            signed = trans['band'][i].double()
            band_sum = signed.clone() if band_sum is None else band_sum + signed
            band_energy += float(signed.pow(2).sum())
            for name, mask in (('face', face[i]), ('body', in_box[i] & ~face[i]), ('outside', ~in_box[i])):
                sums[name][0] += float(band[i][mask].sum())
                sums[name][1] += float(mask.sum())
            band_share.append(float(band[i].mean() / deviation[i].clamp_min(1e-6)))
            if len(shown) < args.num_show:
                shown.append(dict(x=x[i], a=trans['conventional'][i], y=trans['enhanced'][i], r=trans['recovered'][i],
                                  band=band[i], kpts=kpts[i], vis=vis[i], face=face[i]))
    print()
    result = dict(config=args.config, checkpoint=args.checkpoint, ann_file=args.ann_file, people=people,
                  bound_grey_levels=round(model.pose_band.bound * GREY, 2),
                  mean_abs_band_grey={k: (round(s / n, 3) if n else None) for k, (s, n) in sums.items()},
                  band_over_deviation=round(float(np.mean(band_share)), 4) if band_share else None,
                  template_share=(round(float((band_sum / people).pow(2).sum()) / (band_energy / people), 4)
                                  if people and band_energy > 0 else None))
    m = result['mean_abs_band_grey']
    if m['face'] is not None and m['body']:
        result['face_over_body'] = round(m['face'] / m['body'], 4)
    print(json.dumps(result, indent=1))
    with open(args.out + '.json', 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    if shown:
        cv2.imwrite(args.out + '.png', mosaic(shown, model.dataset_meta))
        print(f'wrote {args.out}.json, {args.out}.png')
    return 0


def mosaic(people, dataset_meta) -> np.ndarray:
    """original (ground-truth keypoints, face disc outline) | A(x) | y' | |B| × 10 | x' per person, one row each
    (BGR; ``visualization.draw_panel`` draws the keypoints and titles)."""
    import cv2
    from mmengine.structures import InstanceData

    from mmrecanon.visualization import draw_panel

    def u8(t):
        return np.ascontiguousarray(((t.permute(1, 2, 0).numpy() + 1) * GREY).clip(0, 255).astype(np.uint8)[..., ::-1])

    rows = []
    for p in people:
        orig = u8(p['x'])
        contours, _ = cv2.findContours(p['face'][0].numpy().astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(orig, contours, -1, (0, 0, 255), 1)
        heat = cv2.applyColorMap((p['band'][0].numpy() * 10).clip(0, 255).astype(np.uint8), cv2.COLORMAP_INFERNO)
        frames = {'original': orig, 'conventional': u8(p['a']), 'enhanced': u8(p['y']), '|B| x10': heat,
                  'recovered': u8(p['r'])}
        gt = InstanceData(keypoints=p['kpts'][None].numpy(), keypoint_scores=p['vis'][None].numpy())
        rows.append(draw_panel(frames, dict(original=gt), dataset_meta, kpt_thr=0.5, views=tuple(frames)))
    return np.concatenate(rows, 0)


if __name__ == '__main__':
    sys.exit(main())
