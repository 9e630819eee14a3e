"""``poses.json`` entries (COCO keypoint results) and the matching of a bottom-up P's people to given boxes.

With ``--boxes`` the boxes say who the people are: ``poses.json`` then has exactly one entry per given
person box (in the order of the boxes file, boxes entirely outside the frame left out), whatever P is.

* A top-down P estimates one pose per given box: entry *i* is box *i*'s pose.
* A bottom-up P finds people by itself.  Its detections are matched to the given boxes greedily by IoU
  (:func:`match_boxes`: the pair with the highest IoU first, each detection and each box used once,
  IoU ≥ ``MATCH_IOU`` = 0.3).  A matched box gets the detection's keypoints (``"match_iou"`` says how
  well they overlap); a box that no detection matches is listed with ``"keypoints": null`` and
  ``"score": null``: P found no pose for that person.  Detections that match no given box are not
  listed; the command line counts them in a warning (a person the boxes may have missed).

Without boxes every person P (or the detector) found is one entry, as before.
"""
from typing import List, Optional, Sequence, Tuple

MATCH_IOU = 0.3


def box_iou(a, b):
    """IoU matrix (N, M) of xyxy boxes ``a`` (N, 4) and ``b`` (M, 4)."""
    import numpy as np
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area = lambda x: np.prod(np.clip(x[:, 2:] - x[:, :2], 0, None), axis=1)  # noqa: E731
    union = area(a)[:, None] + area(b)[None, :] - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def match_boxes(given, detected, thr: float = MATCH_IOU) -> List[Optional[int]]:
    """For each given box the index of its detection, or None: greedy by IoU, one detection per box.

    Pairs are taken in order of decreasing IoU (ties: lower box index, then lower detection index);
    a pair is kept when both are still free and its IoU ≥ ``thr``.
    """
    iou = box_iou(given, detected)
    n, m = iou.shape
    pairs = sorted(((-iou[i, j], i, j) for i in range(n) for j in range(m) if iou[i, j] >= thr))
    match: List[Optional[int]] = [None] * n
    used = set()
    for _, i, j in pairs:
        if match[i] is None and j not in used:
            match[i] = j
            used.add(j)
    return match


def _entry(image: str, frame: Optional[int], box: Sequence[float]) -> dict:
    x1, y1, x2, y2 = (float(v) for v in box)
    entry = dict(image=image)
    if frame is not None:
        entry['frame'] = frame
    entry.update(category_id=1, bbox=[round(v, 2) for v in (x1, y1, x2 - x1, y2 - y1)])
    return entry


def pose_entries(inst, image: str, frame: Optional[int] = None, given=None,
                 bottomup: bool = False) -> Tuple[list, int]:
    """``(entries, detections matched to no given box)`` for one image / video frame.

    ``inst``: P's instances (numpy fields, image pixels); ``given``: the person boxes used (N, 4) or
    None when people were detected; ``bottomup``: P found its people itself (match them to ``given``).
    Entry: ``bbox`` [x, y, w, h] (the given box when boxes were given), ``score`` = box score × mean
    keypoint score (MMPose's 'bbox_keypoint' score mode), ``keypoints`` [x, y, score] × K.
    """
    import numpy as np

    from ..apis.inference import _instance_boxes, _instance_scores
    n = len(inst)
    if n:
        kpts = np.asarray(inst.keypoints, np.float64).reshape(n, -1, 2)
        kscores = np.asarray(inst.keypoint_scores, np.float64).reshape(n, -1)
        boxes = _instance_boxes(inst).astype(np.float64)
        bscores = (_instance_scores(inst).astype(np.float64) if ('bbox_scores' in inst or 'scores' in inst)
                   else np.ones(n))

    def pose(entry: dict, i: int) -> dict:
        entry.update(score=round(float(bscores[i] * kscores[i].mean()), 4),
                     keypoints=[round(float(v), 2) if j % 3 < 2 else round(float(v), 4)
                                for k in range(kpts.shape[1])
                                for j, v in enumerate((kpts[i, k, 0], kpts[i, k, 1], kscores[i, k]))])
        return entry

    if given is None:
        return [pose(_entry(image, frame, boxes[i]), i) for i in range(n)], 0
    given = np.asarray(given, np.float64).reshape(-1, 4)
    if not bottomup:  # top-down: one instance per given box, in order
        return [pose(_entry(image, frame, given[i]), i) for i in range(min(n, len(given)))], 0
    match = match_boxes(given, boxes if n else np.zeros((0, 4)))
    iou = box_iou(given, boxes) if n else None
    entries = []
    for i, j in enumerate(match):
        entry = _entry(image, frame, given[i])
        if j is None:
            entry.update(score=None, keypoints=None)
        else:
            pose(entry, j)['match_iou'] = round(float(iou[i, j]), 3)
        entries.append(entry)
    return entries, n - sum(j is not None for j in match)
