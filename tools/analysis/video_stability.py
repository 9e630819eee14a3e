"""Flicker and the averaging attack on a video: per-frame anonymization vs ``VideoAnonymizer``.

    python tools/analysis/video_stability.py CONFIG CHECKPOINT --pose-checkpoint P.pth \
        [--video ../shared/data/videos/sports2d-demo.mp4] [--frames N] [--out results/video] [--clip results/video.mp4]

The model's detector, or P (the pretrained pose model, ``--pose-checkpoint``), finds the people in each
original frame once; both modes get those detections, so they differ only in what ``mmrecanon.apis.video``
adds (held boxes, held tiles). Per mode, over frames t ≥ 1 (all figures in grey levels or dB on uint8 BGR
frames; each mode on its own regions -- the held ones are wider -- so compare the ratio within a mode):

* ``flicker_p``: mean |y'_t − y'_{t−1}| over the pixels inside the person regions of frame t or t−1
  whose original barely changes (|x_t − x_{t−1}| < 2 grey levels in every channel); ``flicker_A``: the same
  figure with A(x) pasted into the same regions instead of y' (the conventional desensitizer's flicker);
* ``averaging_attack_db``: over windows of N = 8 consecutive frames (stride 8), on the pixels inside the
  regions of all 8 frames whose original stays within 2 grey levels of the window's first frame:
  PSNR(mean x, mean y') − PSNR(mean x, mean A(x)), pooled over windows. Positive = averaging the
  privacy-enhanced frames gets closer to the original than averaging A(x) does;
* ``psnr_o_r_mean``: mean over frames of PSNR(o, r) inside the detected person boxes (r = x' recovered
  from the y' frame as computed, before any video codec);
* ``held_tiles``: the fraction of native tiles ``TileHold`` reused instead of running G_X.

Writes OUT.json, OUT.md and OUT.png (one person of one frame as original | A(x) | y' | x', P's keypoints on
y' and x'); ``--clip`` writes a small side-by-side MP4 of the stabilized mode (original | y' | x', quarter
size, the first ``CLIP_FRAMES`` frames: about 1 MB).
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
VIDEO = osp.join(ROOT, '..', 'shared', 'data', 'videos', 'sports2d-demo.mp4')
WINDOW = 8
CLIP_FRAMES = 120
PICTURE_FRAME = 100  # the frame of OUT.png (if P finds somebody there; else the first with people)
STILL = 2  # grey levels


def region_mask(shape, regions) -> np.ndarray:
    m = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in np.asarray(regions, np.float64).reshape(-1, 4).round().astype(int):
        m[max(y0, 0):y1, max(x0, 0):x1] = True
    return m


def still(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (np.abs(a.astype(np.int16) - b.astype(np.int16)) < STILL).all(axis=2)


def mean_abs(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> tuple:
    d = np.abs(a.astype(np.float64) - b.astype(np.float64))[mask]
    return float(d.sum()), int(d.size)


def psnr_from_mse(mse: float) -> float:
    return 100.0 if mse <= 0 else float(10 * np.log10(255.0 ** 2 / mse))


def box_psnr(a, b, boxes) -> float:
    m = region_mask(a.shape, boxes)
    if not m.any():
        return float('nan')
    return psnr_from_mse(float(((a.astype(np.float64) - b.astype(np.float64))[m] ** 2).mean()))


def person_panel(anon, picture: dict, draw_panel) -> np.ndarray:
    """original | A(x) | y' | x' around the first person (box × 1.5), P's keypoints on y' and x'."""
    x = picture['original']
    b = np.asarray(picture['boxes'][0], np.float64)
    c, half = (b[:2] + b[2:]) / 2, (b[2:] - b[:2]).max() * 0.75
    x0, y0 = (int(max(v, 0)) for v in c - half)
    x1, y1 = int(min(c[0] + half, x.shape[1])), int(min(c[1] + half, x.shape[0]))
    views = ('original', 'conventional', 'enhanced', 'recovered')
    frames = {v: np.ascontiguousarray(picture[v][y0:y1, x0:x1]) for v in views}
    poses = {}
    for v in ('enhanced', 'recovered'):
        inst = anon.estimate_poses(picture[v])
        if len(inst):
            inst.keypoints = inst.keypoints - np.array([x0, y0], np.float32)
            poses[v] = inst
    return draw_panel(frames, poses, anon.model.dataset_meta, views=views)


class Stats:
    """Running sums of one mode's figures."""

    def __init__(self):
        self.flick_p = [0.0, 0]
        self.flick_a = [0.0, 0]
        self.attack = [0.0, 0.0, 0]  # squared error of mean y', of mean A, pixels
        self.psnr = []
        self.prev = None
        self.window = []

    def add(self, x, y, a, r, regions, persons):
        mask_now = region_mask(x.shape, regions)
        if self.prev is not None:
            px, py, pa, pmask = self.prev
            m = (mask_now | pmask) & still(x, px)
            for acc, (s, n) in ((self.flick_p, mean_abs(y, py, m)), (self.flick_a, mean_abs(a, pa, m))):
                acc[0] += s
                acc[1] += n
        self.prev = (x, y, a, mask_now)
        self.window.append((x, y, a, mask_now))
        if len(self.window) == WINDOW:
            x0 = self.window[0][0]
            m = np.logical_and.reduce([w[3] & still(w[0], x0) for w in self.window])
            if m.any():
                mx, my, ma = (np.mean([w[i].astype(np.float64) for w in self.window], axis=0) for i in range(3))
                self.attack[0] += float(((my - mx) ** 2)[m].sum())
                self.attack[1] += float(((ma - mx) ** 2)[m].sum())
                self.attack[2] += int(m.sum()) * 3
            self.window = []
        if len(persons):
            self.psnr.append(box_psnr(x, r, persons))

    def result(self) -> dict:
        fp = self.flick_p[0] / max(self.flick_p[1], 1)
        fa = self.flick_a[0] / max(self.flick_a[1], 1)
        n = max(self.attack[2], 1)
        att = psnr_from_mse(self.attack[0] / n) - psnr_from_mse(self.attack[1] / n) if self.attack[2] else None
        psnr = [p for p in self.psnr if np.isfinite(p)]
        return dict(flicker_p=fp, flicker_A=fa, flicker_ratio=fp / fa if fa > 0 else None,
                    averaging_attack_db=att, attack_pixels=self.attack[2] // 3,
                    psnr_o_r_mean=float(np.mean(psnr)) if psnr else None,
                    psnr_o_r_min=float(np.min(psnr)) if psnr else None, psnr_frames=len(psnr),
                    psnr_o_r=[round(p, 3) for p in self.psnr])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--pose-checkpoint', help="P's weights (the converter's output) when CHECKPOINT has none")
    parser.add_argument('--video', default=VIDEO)
    parser.add_argument('--frames', type=int, help='first N frames only (default: all)')
    parser.add_argument('--score-thr', type=float, default=0.3)
    parser.add_argument('--key', action='store_true', help='key-locked model: use a fresh random key')
    parser.add_argument('--out', default=osp.join(ROOT, 'results', 'video'))
    parser.add_argument('--clip', help='side-by-side MP4 (original | y\' | x\', quarter size, stabilized)')
    args = parser.parse_args(argv)
    for path in (args.config, args.checkpoint, args.video) + ((args.pose_checkpoint, ) if args.pose_checkpoint else ()):
        if not osp.isfile(path):
            print(f'error: file not found: {path}', file=sys.stderr)
            return 2
    sys.path.insert(0, ROOT)
    from mmengine.utils import ProgressBar

    from mmrecanon.apis import Anonymizer, detect_people
    from mmrecanon.apis.inference import anonymize_checked
    from mmrecanon.apis.video import VideoAnonymizer
    from mmrecanon.io import video as vio
    from mmrecanon.models.utils.keylock import generate_key
    from mmrecanon.visualization import draw_panel

    key = generate_key() if args.key else None
    anon = Anonymizer.from_files(args.config, args.checkpoint, pose_checkpoint=args.pose_checkpoint, key=key,
                                 score_thr=args.score_thr, purpose='recovery')
    model = anon.model
    modes = {'per_frame': VideoAnonymizer(anon, stabilize=False), 'stabilized': VideoAnonymizer(anon)}
    stats = {m: Stats() for m in modes}
    cap, size, fps, header = vio.open_video(args.video)
    total = min(header, args.frames) if args.frames else header
    writer = None
    if args.clip:
        os.makedirs(osp.dirname(osp.abspath(args.clip)) or '.', exist_ok=True)
        q = (size[0] // 4 // 2 * 2, size[1] // 4 // 2 * 2)
        writer = cv2.VideoWriter(args.clip, cv2.VideoWriter_fourcc(*'mp4v'), fps, (3 * q[0], q[1]))
    t0 = time.time()
    load_before = os.getloadavg()[0]
    bar = ProgressBar(total)
    n, picture, people = 0, None, 0
    for idx, x in vio.frames(cap, size):
        if args.frames and idx >= args.frames:
            break
        persons = detect_people(model, x, args.score_thr)
        people += len(persons)
        for name, va in modes.items():
            out = va.anonymize(x, persons, estimate=False, track=True)  # the detections, tracked when stabilized
            y = out['enhanced']
            regions = out['boxes']
            a = anonymize_checked(model, x, out.get('held_boxes', out['person_boxes']), key=None,
                                  use_desensitizer=True, estimate=False)['enhanced']  # A on the same regions
            r = anon.recover(y, regions, out.get('nonces')) if regions else y
            stats[name].add(x, y, a, r, regions, persons)
            if name == 'stabilized':
                if writer is not None and idx < CLIP_FRAMES:
                    writer.write(np.concatenate([cv2.resize(v, q, interpolation=cv2.INTER_AREA) for v in (x, y, r)], 1))
                if len(persons) and (picture is None or idx == PICTURE_FRAME):
                    picture = dict(original=x, conventional=a, enhanced=y, recovered=r, boxes=persons)
        n += 1
        bar.update()
    cap.release()
    if writer is not None:
        writer.release()
    wall = time.time() - t0
    res = dict(config=args.config, checkpoint=args.checkpoint, video=osp.relpath(args.video, ROOT), frames=n,
               size=list(size), fps=fps, people=people, wall_s=round(wall, 1), load_before=load_before,
               load_after=os.getloadavg()[0], key_locked=key is not None)
    for name in modes:
        res[name] = stats[name].result()
    hold = modes['stabilized'].hold
    if hold is not None:
        res['stabilized']['held_tiles'] = hold.held / max(hold.held + hold.computed, 1)
    main_ = res['stabilized']
    res.update(flicker_p=main_['flicker_p'], flicker_A=main_['flicker_A'],
               averaging_attack_db=main_['averaging_attack_db'], psnr_o_r_mean=main_['psnr_o_r_mean'])
    os.makedirs(osp.dirname(osp.abspath(args.out)) or '.', exist_ok=True)
    with open(args.out + '.json', 'w') as f:
        json.dump(res, f, indent=1)
    if picture is not None:
        cv2.imwrite(args.out + '.png', person_panel(anon, picture, draw_panel))
    lines = [f'{n} frames of {res["video"]} ({size[0]}×{size[1]}), {people} person detections (P on the originals), '
             f'wall {wall:.0f} s, load {load_before:.2f} → {res["load_after"]:.2f}', '',
             '| mode | flicker y\' | flicker A(x) | ratio | averaging attack (dB) | PSNR(o,r) mean / min | held tiles |',
             '|---|---|---|---|---|---|---|']
    for name in modes:
        s = res[name]
        fmt = lambda v, d=2: '—' if v is None else f'{v:.{d}f}'  # noqa: E731
        lines.append(f'| {name} | {fmt(s["flicker_p"])} | {fmt(s["flicker_A"])} | {fmt(s["flicker_ratio"])} | '
                     f'{fmt(s["averaging_attack_db"])} | {fmt(s["psnr_o_r_mean"])} / {fmt(s["psnr_o_r_min"])} | '
                     f'{fmt(s.get("held_tiles"))} |')
    with open(args.out + '.md', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n' + '\n'.join(lines))
    return 0


if __name__ == '__main__':
    sys.exit(main())
