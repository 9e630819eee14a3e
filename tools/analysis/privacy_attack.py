"""Privacy attack report: can off-the-shelf face models find and re-identify people after anonymization?

    python tools/analysis/privacy_attack.py CONFIG CHECKPOINT [--key-file K] [--ann-file A --img-dir D]
        [--zeroshot-config C --zeroshot-checkpoint P] [--out results/privacy-attack]

For every image of a COCO person-keypoint set (default: people-mini val), at full resolution, with
the ground-truth person boxes as the camera's detections:

* views: original x, conventional A(x), privacy-enhanced y' (G_X; key-locked models with a fresh key),
  recovered x' (G_Y; right key) and, for key-locked models, x' recovered with a wrong key;
* faces: dlib's HOG frontal face detector (its weights are built into the ``dlib-bin`` wheel; 2×
  upsampling so faces from ~20 px are found) on the original gives the reference faces (those whose
  centre lies in a person box).  Detection rate of a view = share of reference faces the same detector
  finds again (IoU ≥ 0.3) in that view.  Re-identification rate = share of reference faces whose
  embedding in the view, computed at the reference face box (the attacker knows where the face is),
  lies within 0.6 (dlib's documented same-person threshold, 99.38 % on LFW) of the embedding in the
  original: dlib's ResNet face recognizer with its 5-point aligner, both shipped in the
  ``face_recognition_models`` package.  Comparing with the very same original photo is the strongest
  gallery an attacker can have, so these rates are upper bounds of what such an attacker achieves.
* zero-shot pose: a P trained on originals only (``--zeroshot-config/--zeroshot-checkpoint``, MMPose's
  ``init_model`` and ``inference_topdown`` on the person boxes or ``inference_bottomup``) on every view,
  OKS AP@0.5 and AP with xtcocotools' COCOeval.

Writes OUT.md, OUT.json and OUT.png (faces of the first reference people in every view).
"""
import argparse
import json
import os
import os.path as osp
import sys
import time
from typing import Dict, List, Optional

import cv2
import numpy as np

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

REID_THRESHOLD = 0.6  # dlib face_recognition_model_v1: same person below this distance
MATCH_IOU = 0.3


class FaceAttacker:
    """dlib face detector + 5-point aligner + ResNet embedder (weights from registry packages)."""

    def __init__(self, upsample: int = 2):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')  # face_recognition_models imports pkg_resources
            import face_recognition_models as frm
        import dlib
        self.dlib = dlib
        self.upsample = upsample
        self.detector = dlib.get_frontal_face_detector()
        self.aligner = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
        self.embedder = dlib.face_recognition_model_v1(frm.face_recognition_model_location())

    @staticmethod
    def _rgb(img_bgr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(img_bgr[..., ::-1])

    def detect(self, img_bgr: np.ndarray) -> np.ndarray:
        """Face boxes (N, 4) xyxy."""
        rects = self.detector(self._rgb(img_bgr), self.upsample)
        return np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32).reshape(-1, 4)

    def embed(self, img_bgr: np.ndarray, box) -> np.ndarray:
        """128-d embedding of the face at ``box`` (xyxy), aligned by the 5-point model."""
        rgb = self._rgb(img_bgr)
        rect = self.dlib.rectangle(*[int(round(v)) for v in box])
        return np.asarray(self.embedder.compute_face_descriptor(rgb, self.aligner(rgb, rect)), np.float32)


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU matrix of xyxy boxes (mmcv's bbox_overlaps)."""
    import torch
    from mmcv.ops import bbox_overlaps
    if len(a) == 0 or len(b) == 0:
        return np.zeros((len(a), len(b)), np.float32)
    return bbox_overlaps(torch.as_tensor(a), torch.as_tensor(b)).numpy()


def reference_faces(attacker: FaceAttacker, original: np.ndarray, person_boxes: np.ndarray) -> List[dict]:
    """Faces found in the original whose centre lies in a person box, with their embeddings."""
    faces = []
    for box in attacker.detect(original):
        cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
        inside = ((person_boxes[:, 0] <= cx) & (cx <= person_boxes[:, 2]) &
                  (person_boxes[:, 1] <= cy) & (cy <= person_boxes[:, 3]))
        if inside.any():
            faces.append(dict(box=box, embedding=attacker.embed(original, box)))
    return faces


def attack_view(attacker: FaceAttacker, faces: List[dict], view: np.ndarray) -> List[dict]:
    """Per reference face: found again by the detector? embedding distance to the original's?"""
    if not faces:
        return []
    found = box_iou(np.stack([f['box'] for f in faces]), attacker.detect(view))
    out = []
    for i, f in enumerate(faces):
        dist = float(np.linalg.norm(attacker.embed(view, f['box']) - f['embedding']))
        out.append(dict(detected=bool(found.shape[1] and found[i].max() >= MATCH_IOU), distance=dist,
                        reidentified=dist < REID_THRESHOLD))
    return out


def summarize(records: Dict[str, List[dict]]) -> Dict[str, dict]:
    out = {}
    for view, recs in records.items():
        n = len(recs)
        out[view] = dict(faces=n,
                         detection_rate=float(np.mean([r['detected'] for r in recs])) if n else None,
                         reid_rate=float(np.mean([r['reidentified'] for r in recs])) if n else None,
                         mean_distance=float(np.mean([r['distance'] for r in recs])) if n else None)
    return out


def make_views(model, img: np.ndarray, person_boxes: np.ndarray, key: Optional[bytes],
               wrong_key: Optional[bytes]) -> Dict[str, np.ndarray]:
    from mmrecanon.apis import anonymize_image, recover_image
    views = dict(original=img)
    views['conventional A(x)'] = anonymize_image(model, img, person_boxes, use_desensitizer=True)['enhanced']
    if not model.has_generators:
        return views
    res = anonymize_image(model, img, person_boxes, key=key)
    views["privacy-enhanced y'"] = res['enhanced']
    views["recovered x'"] = recover_image(model, res['enhanced'], res['boxes'], key, res.get('nonces'),
                                          res.get('key_check'))
    if key is not None:
        views["recovered with a wrong key"] = recover_image(model, res['enhanced'], res['boxes'], wrong_key,
                                                            res.get('nonces'))
    return views


def zeroshot_results(pose, frame: np.ndarray, person_boxes: np.ndarray, image_id: int) -> List[dict]:
    """COCO keypoint results of P on one frame: top-down P on the person boxes, bottom-up P on the frame."""
    from mmpose.apis import inference_bottomup, inference_topdown
    if type(pose).__name__ == 'TopdownPoseEstimator':
        samples = inference_topdown(pose, frame, person_boxes, bbox_format='xyxy') if len(person_boxes) else []
    else:
        samples = inference_bottomup(pose, frame)
    out = []
    for sample in samples:
        inst = sample.pred_instances
        kpts, scores = np.asarray(inst.keypoints), np.asarray(inst.keypoint_scores)
        for k, s in zip(kpts, scores):  # score: mean keypoint score (MMPose's CocoMetric 'keypoint' mode)
            out.append(dict(image_id=image_id, category_id=1, score=float(s.mean()),
                            keypoints=np.concatenate([k, s[:, None]], 1).reshape(-1).tolist()))
    return out


def oks_ap(ann_file: str, results: List[dict], image_ids: List[int]) -> dict:
    from xtcocotools.coco import COCO
    from xtcocotools.cocoeval import COCOeval
    from mmpose.datasets.datasets.utils import parse_pose_metainfo
    import mmpose
    sigmas = parse_pose_metainfo(dict(from_file=osp.join(osp.dirname(mmpose.__file__), '.mim', 'configs',
                                                         '_base_', 'datasets', 'coco.py')))['sigmas']
    gt = COCO(ann_file)
    if not results:
        return {'AP': 0.0, 'AP .5': 0.0}
    dt = gt.loadRes(results)
    ev = COCOeval(gt, dt, 'keypoints', sigmas, use_area=True)
    ev.params.imgIds = image_ids
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return {'AP': float(ev.stats[0]), 'AP .5': float(ev.stats[1])}


def save_faces(path: str, crops: Dict[str, List[np.ndarray]], size: int = 96) -> None:
    rows = []
    for i in range(min(len(v) for v in crops.values())):
        rows.append(np.concatenate([cv2.resize(v[i], (size, size)) for v in crops.values()], 1))
    if rows:
        cv2.imwrite(path, np.concatenate(rows[:8], 0))


def face_crop(img: np.ndarray, box: np.ndarray, pad: float = 0.3) -> np.ndarray:
    w, h = box[2] - box[0], box[3] - box[1]
    x1, y1 = int(max(box[0] - pad * w, 0)), int(max(box[1] - pad * h, 0))
    x2, y2 = int(min(box[2] + pad * w, img.shape[1])), int(min(box[3] + pad * h, img.shape[0]))
    return img[y1:y2, x1:x2]


def run(args) -> dict:
    from mmengine.utils import ProgressBar

    from mmrecanon.apis import init_recanon, is_key_locked, read_image
    from mmrecanon.models.utils.keylock import generate_key, read_key_file

    model = init_recanon(args.config, args.checkpoint)
    key = wrong = None
    if is_key_locked(model):
        key = read_key_file(args.key_file) if args.key_file else generate_key()
        wrong = generate_key()
    pose = None
    if args.zeroshot_config:
        from mmpose.apis import init_model
        pose = init_model(args.zeroshot_config, args.zeroshot_checkpoint, device='cpu')
    ann_file = args.ann_file
    with open(ann_file) as f:
        coco = json.load(f)
    images = coco['images'][:args.max_images] if args.max_images else coco['images']
    boxes_of = {}
    for a in coco['annotations']:
        if not a.get('iscrowd', 0):
            x, y, w, h = a['bbox']
            boxes_of.setdefault(a['image_id'], []).append([x, y, x + w, y + h])
    attacker = FaceAttacker(args.upsample)
    records: Dict[str, List[dict]] = {}
    pose_results: Dict[str, List[dict]] = {}
    crops: Dict[str, List[np.ndarray]] = {}
    t0 = time.time()
    bar = ProgressBar(len(images))
    for im in images:
        img = read_image(osp.join(args.img_dir, im['file_name']))
        persons = np.array(boxes_of.get(im['id'], []), np.float32).reshape(-1, 4)
        views = make_views(model, img, persons, key, wrong)
        faces = reference_faces(attacker, img, persons)
        for view, frame in views.items():
            records.setdefault(view, []).extend(attack_view(attacker, faces, frame))
            crops.setdefault(view, []).extend(face_crop(frame, f['box']) for f in faces)
            if pose is not None:
                pose_results.setdefault(view, []).extend(zeroshot_results(pose, frame, persons, im['id']))
        bar.update()
    print(flush=True)
    result = dict(config=args.config, checkpoint=args.checkpoint, ann_file=ann_file, images=len(images),
                  key_locked=key is not None, upsample=args.upsample, reid_threshold=REID_THRESHOLD,
                  faces=summarize(records))
    if pose is not None:
        ids = [im['id'] for im in images]
        result['zeroshot_pose'] = {v: oks_ap(ann_file, r, ids) for v, r in pose_results.items()}
        result['zeroshot_checkpoint'] = args.zeroshot_checkpoint
    result['seconds'] = time.time() - t0
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    save_faces(args.out + '.png', crops)
    return result


def render(result: dict) -> str:
    pose = result.get('zeroshot_pose', {})
    head = '| view | faces found again | re-identified (d < 0.6) | mean distance |'
    sep = '|---|---:|---:|---:|'
    if pose:
        head += ' zero-shot P OKS AP@0.5 | AP |'
        sep += '---:|---:|'
    lines = [head, sep]
    for view, s in result['faces'].items():
        pct = (lambda v: '–' if v is None else f'{100 * v:.1f} %')
        dist = '–' if s['mean_distance'] is None else f"{s['mean_distance']:.3f}"
        row = f"| {view} | {pct(s['detection_rate'])} | {pct(s['reid_rate'])} | {dist} |"
        if pose:
            p = pose.get(view, {})
            row += f" {100 * p.get('AP .5', 0):.1f} | {100 * p.get('AP', 0):.1f} |"
        lines.append(row)
    n = next(iter(result['faces'].values()))['faces']
    lines += ['', f"{result['images']} images ({result['ann_file']}), {n} reference faces (dlib HOG, upsample "
                  f"{result['upsample']}, in person boxes of the original); {result['seconds']:.0f} s."]
    return '\n'.join(lines)


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('config')
    p.add_argument('checkpoint')
    p.add_argument('--key-file', help='key of a key-locked model (default: a fresh random key)')
    p.add_argument('--ann-file', default='../shared/data/people-mini/annotations/person_keypoints_val.json')
    p.add_argument('--img-dir', default='../shared/data/people-mini/images')
    p.add_argument('--max-images', type=int, default=None)
    p.add_argument('--upsample', type=int, default=2, help="dlib detector upsampling (default 2)")
    p.add_argument('--zeroshot-config', help='P trained on originals only (standalone MMPose config)')
    p.add_argument('--zeroshot-checkpoint')
    p.add_argument('--out', default='results/privacy-attack', help='output prefix (.md/.json/.png)')
    return p.parse_args(argv)


def main(argv=None) -> int:
    from mmrecanon.runtime import report_main
    args = parse_args(argv)
    files = (args.config, args.checkpoint, args.zeroshot_config, args.zeroshot_checkpoint, args.key_file,
             args.ann_file)
    return report_main(args, run, render, files=files, together=[('zeroshot_config', 'zeroshot_checkpoint')])


if __name__ == '__main__':
    sys.exit(main())
