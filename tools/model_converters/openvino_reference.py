"""Reference outputs of the OpenVINO YOLOv8n-pose IR (how ``tests/data/yolov8n_pose_openvino_ref.json`` was made).

    pip install openvino opencv-python-headless pycocotools numpy   # a separate virtualenv is enough
    python tools/model_converters/openvino_reference.py ../shared/weights/yolov8n-pose-coco/yolov8n-pose.xml \
        --data ../shared/data/people-mini --out tests/data/yolov8n_pose_openvino_ref.json

Ultralytics' own inference, written out: letter-box to 640×640 (cv2.resize INTER_LINEAR, grey 114,
padding split as Ultralytics rounds it), RGB / 255, the IR's decoded output (1 × 56 × 8400: cx, cy, w, h,
person score, 17 × (x, y, visibility)), score > 0.01, class-agnostic NMS at IoU 0.65, top 20, boxes and
keypoints mapped back to the image. Prints COCO keypoint AP / AP@0.5 on the val images whose
``label_kind`` is ``gt`` (the number the weights' README reports: 0.497 / 0.776) and writes the detections of
``--keep`` images (small) for the conversion test. Needs only the packages above, not this project's stack.
"""
import argparse
import json
import os.path as osp

import cv2
import numpy as np


def letterbox(img, size=640):
    h, w = img.shape[:2]
    r = min(size / h, size / w)
    new_w, new_h = int(round(w * r)), int(round(h * r))
    dw, dh = (size - new_w) / 2, (size - new_h) / 2
    if (new_w, new_h) != (w, h):
        img = cv2.resize(img, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    top, bottom = int(round(dh - 0.1)), int(round(dh + 0.1))
    left, right = int(round(dw - 0.1)), int(round(dw + 0.1))
    img = cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(114, 114, 114))
    return img, r, (left, top)


def detect(compiled, img_bgr, score_thr=0.01, iou_thr=0.65, top_k=20):
    lb, r, (left, top) = letterbox(img_bgr)
    x = lb[:, :, ::-1].transpose(2, 0, 1)[None].astype(np.float32) / 255.0
    out = compiled(x)[compiled.output(0)][0].T  # 8400 × 56
    keep = out[:, 4] > score_thr
    out = out[keep]
    boxes = np.stack([out[:, 0] - out[:, 2] / 2, out[:, 1] - out[:, 3] / 2,
                      out[:, 0] + out[:, 2] / 2, out[:, 1] + out[:, 3] / 2], 1)
    xywh = np.concatenate([boxes[:, :2], boxes[:, 2:] - boxes[:, :2]], 1)
    idx = np.array(cv2.dnn.NMSBoxes(xywh.tolist(), out[:, 4].tolist(), score_thr, iou_thr),
                   dtype=np.int64).reshape(-1)
    idx = idx[np.argsort(-out[idx, 4], kind='stable')][:top_k]
    boxes, scores, kpts = boxes[idx], out[idx, 4], out[idx, 5:].reshape(-1, 17, 3).copy()
    h, w = img_bgr.shape[:2]
    boxes[:, 0::2] = ((boxes[:, 0::2] - left) / r).clip(0, w)
    boxes[:, 1::2] = ((boxes[:, 1::2] - top) / r).clip(0, h)
    kpts[..., 0] = (kpts[..., 0] - left) / r
    kpts[..., 1] = (kpts[..., 1] - top) / r
    return boxes, scores, kpts


def main():
    import openvino as ov
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('xml')
    parser.add_argument('--data', default='../shared/data/people-mini')
    parser.add_argument('--out', default='tests/data/yolov8n_pose_openvino_ref.json')
    parser.add_argument('--keep', type=int, default=4, help='images whose detections are written')
    args = parser.parse_args()
    compiled = ov.Core().compile_model(args.xml, 'CPU')
    ann = osp.join(args.data, 'annotations', 'person_keypoints_val.json')
    coco = COCO(ann)
    gt_ids = [i['id'] for i in coco.dataset['images'] if i.get('label_kind') == 'gt']
    results, kept = [], []
    for img_id in gt_ids:
        info = coco.imgs[img_id]
        img = cv2.imread(osp.join(args.data, 'images', info['file_name']))
        boxes, scores, kpts = detect(compiled, img)
        for b, s, k in zip(boxes, scores, kpts):
            results.append(dict(image_id=img_id, category_id=1, score=float(s),
                                keypoints=[float(v) for v in k.reshape(-1)],
                                bbox=[float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]))
        if len(kept) < args.keep and len(scores) and scores.max() > 0.5:
            top = scores > 0.25
            kept.append(dict(file_name=info['file_name'], bboxes=np.round(boxes[top], 2).tolist(),
                             scores=np.round(scores[top], 4).tolist(),
                             keypoints=np.round(kpts[top], 2).tolist()))
    ev = COCOeval(coco, coco.loadRes(results), 'keypoints')
    ev.params.imgIds = gt_ids
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    ref = dict(model=osp.basename(args.xml), input_size=640, score_thr=0.01, nms_iou=0.65, top_k=20,
               num_gt_images=len(gt_ids), AP=round(float(ev.stats[0]), 4), AP50=round(float(ev.stats[1]), 4),
               images=kept)
    with open(args.out, 'w') as f:
        json.dump(ref, f, indent=1)
    print(f'AP {ev.stats[0]:.3f} AP@0.5 {ev.stats[1]:.3f} on {len(gt_ids)} images; wrote {args.out}')


if __name__ == '__main__':
    main()
