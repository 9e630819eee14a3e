"""Recovery at the person's own resolution: PSNR(o, r) inside the person boxes of full-resolution frames.

    python tools/analysis/frame_recovery.py CONFIG CHECKPOINT [--out results/recovery_frame] \
        [--pictures results/recovery_val.png]

Every people-mini val image at its stored resolution goes through the inference API a camera and an
authorised party use (``mmrecanon.apis.anonymize_image`` with the ground-truth person boxes, then
``recover_image``). Per person (non-crowd boxes of at least 16×16 px), inside the person box:

* ``psnr_o_r``: original vs recovered frame; ``psnr_o_p``: original vs privacy-enhanced; ``psnr_o_A``:
  original vs the frame with A(x) pasted instead of y';
* ``leak_db``: the visible-leak figure of ``PortraitQualityMetric`` at the person's own resolution:
  PSNR(o, lowpass(y')) − PSNR(o, lowpass(A(x))) inside the box, Gaussian σ = 2 portrait pixels = 2·k frame
  pixels (k = margin · longest box side / portrait size), as scikit-image's ``gaussian`` on the whole frame;
* ``psnr_ceiling``: original vs the original cut to its square portrait (``portrait_size`` px) and pasted
  back: what a perfect G_Y can give in the portrait design. A ``native_resolution`` model resamples
  nothing, so it has no such ceiling.

Key-locked models also give ``psnr_o_r_wrongkey`` (recovered with another key) and ``psnr_o_r_nokey`` (G_Y
on y' as sent), the attacker's two cheapest tries. Means over persons go to ``OUT.json``. ``--pictures`` writes original | A(x) | y' | x' crops of 8 people
(the first 8 persons, in file order, whose box is at least 64 px high) with their PSNR(o, r).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(ROOT, '..', 'shared', 'data', 'people-mini')


def box_psnr(a: np.ndarray, b: np.ndarray, box) -> float:
    from skimage.metrics import peak_signal_noise_ratio
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    pa, pb = a[y1:y2, x1:x2], b[y1:y2, x1:x2]
    if np.array_equal(pa, pb):
        return 100.0
    return float(peak_signal_noise_ratio(pa, pb, data_range=255))


def lowpass(img: np.ndarray, sigma: float) -> np.ndarray:
    from skimage.filters import gaussian
    out = gaussian(img.astype(np.float64), sigma=sigma, channel_axis=-1, preserve_range=True)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--out', default=osp.join(ROOT, 'results', 'recovery_frame'))
    parser.add_argument('--pictures', help='write original | A(x) | y\' | x\' of 8 people to this PNG')
    parser.add_argument('--limit', type=int, help='first N images only')
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint):
        if not osp.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    sys.path.insert(0, ROOT)
    import torch
    from mmengine.utils import ProgressBar

    from mmrecanon.apis import anonymize_image, init_recanon, recover_image, recover_without_key
    from mmrecanon.models.utils.keylock import generate_key
    from mmrecanon.models.utils.portrait import square_boxes
    from mmrecanon.models.utils.tiles import portrait_scales

    model = init_recanon(args.config, args.checkpoint)
    key = generate_key() if model.key_lock is not None else None
    with open(osp.join(DATA, 'annotations', 'person_keypoints_val.json')) as f:
        coco = json.load(f)
    images = coco['images'][:args.limit] if args.limit else coco['images']
    per_image = {}
    for a in coco['annotations']:
        x, y, w, h = a['bbox']
        if not a.get('iscrowd') and w >= 16 and h >= 16:
            per_image.setdefault(a['image_id'], []).append([x, y, x + w, y + h])
    rows, tiles = [], []
    t0, load = time.time(), os.getloadavg()[0]
    bar = ProgressBar(len(images))
    for info in images:
        boxes = per_image.get(info['id'], [])
        bar.update()
        if not boxes:
            continue
        img = cv2.imread(osp.join(DATA, 'images', info['file_name']))
        anon = anonymize_image(model, img, boxes=np.array(boxes, np.float32), key=key, estimate=False)
        rec = recover_image(model, anon['enhanced'], anon['boxes'], key=key, nonces=anon.get('nonces'),
                            key_check=anon.get('key_check'))
        conv = anonymize_image(model, img, boxes=np.array(boxes, np.float32), use_desensitizer=True,
                               estimate=False)['enhanced']
        attacks = {}
        if key is not None:  # recovery without the key check: the attacker's view
            attacks['psnr_o_r_wrongkey'] = recover_image(model, anon['enhanced'], anon['boxes'], key=generate_key(),
                                                         nonces=anon.get('nonces'))
            attacks['psnr_o_r_nokey'] = recover_without_key(model, anon['enhanced'], anon['boxes'])
        with torch.no_grad():  # the portrait design's round trip alone: crop to portrait_size, paste back
            frame = torch.from_numpy(img).permute(2, 0, 1)[None].float()
            rois = [square_boxes(torch.as_tensor(anon['person_boxes']).reshape(-1, 4), model.portrait_margin)]
            ceiling = model.paste(frame, model.crop(frame, rois), rois)[0]
            ceiling = ceiling.round().clamp(0, 255).byte().permute(1, 2, 0).numpy()
        for box in anon['person_boxes']:
            sigma = 2.0 * float(portrait_scales(box, model.portrait_margin, model.portrait_size)[0])
            x1, y1, x2, y2 = (int(round(v)) for v in box)
            pad = int(np.ceil(4 * sigma))
            win = (slice(max(0, y1 - pad), y2 + pad), slice(max(0, x1 - pad), x2 + pad))
            local = [x1 - win[1].start, y1 - win[0].start, x2 - win[1].start, y2 - win[0].start]
            leak = (box_psnr(img[win], lowpass(anon['enhanced'][win], sigma), local) -
                    box_psnr(img[win], lowpass(conv[win], sigma), local))
            row = dict(image=info['file_name'], box=[round(float(v), 1) for v in box],
                       psnr_o_r=box_psnr(img, rec, box), psnr_o_p=box_psnr(img, anon['enhanced'], box),
                       psnr_o_A=box_psnr(img, conv, box), psnr_ceiling=box_psnr(img, ceiling, box), leak_db=leak,
                       **{k: box_psnr(img, v, box) for k, v in attacks.items()})
            rows.append(row)
            if args.pictures and len(tiles) < 8 and box[3] - box[1] >= 64:
                x1, y1, x2, y2 = (int(round(v)) for v in box)
                crops = [v[y1:y2, x1:x2] for v in (img, conv, anon['enhanced'], rec)]
                scale = 192 / (y2 - y1)
                crops = [cv2.resize(c, (max(1, round(c.shape[1] * scale)), 192), interpolation=cv2.INTER_AREA)
                         for c in crops]
                tile = np.concatenate([np.pad(c, ((0, 0), (0, 4), (0, 0)), constant_values=255) for c in crops], 1)
                tile = np.pad(tile, ((22, 4), (0, 0), (0, 0)), constant_values=255)
                cv2.putText(tile, f"o | A(x) {row['psnr_o_A']:.1f} | y' {row['psnr_o_p']:.1f} | "
                            f"x' {row['psnr_o_r']:.1f} dB", (2, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                            (0, 0, 0), 1, cv2.LINE_AA)
                tiles.append(tile)
    print()
    keys = ('psnr_o_r', 'psnr_o_p', 'psnr_o_A', 'leak_db', 'psnr_ceiling') + (
        ('psnr_o_r_wrongkey', 'psnr_o_r_nokey') if key is not None else ())
    summary = {k: float(np.mean([r[k] for r in rows])) for k in keys}
    result = dict(config=osp.relpath(osp.abspath(args.config), ROOT),
                  checkpoint=osp.relpath(osp.abspath(args.checkpoint), ROOT),
                  persons=len(rows), images=len(images), portrait_size=model.portrait_size,
                  native_resolution=bool(getattr(model, 'native_resolution', False)),
                  wall_s=round(time.time() - t0, 1), load_before=round(load, 2),
                  load_after=round(os.getloadavg()[0], 2), **summary, rows=rows)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    with open(args.out + '.json', 'w') as f:
        json.dump(result, f, indent=1)
    if tiles:
        width = max(t.shape[1] for t in tiles)
        sheet = np.concatenate([np.pad(t, ((0, 0), (0, width - t.shape[1]), (0, 0)), constant_values=255)
                                for t in tiles], 0)
        cv2.imwrite(args.pictures, sheet)
    print(json.dumps({k: round(v, 2) for k, v in summary.items()}), f'persons {len(rows)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
