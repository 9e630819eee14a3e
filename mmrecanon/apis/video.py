"""Video that does not flicker: person boxes that hold still, and y' tiles that are not redrawn.

Anonymizing every frame on its own makes y' flicker: a box that jitters by a pixel moves the person's
region, its tiles and A's scale, and the carrier -- scrambled over the whole tile -- is drawn anew
wherever anything in the tile changed. A flickering y' is ugly, shows the carrier to the eye and hands an
averaging attacker many draws. :class:`VideoAnonymizer` keeps per-stream state so that what does not
change is not redrawn:

* :class:`PersonTracker` (IoU matching, Hungarian assignment from SciPy) gives every person a *held*
  box: the detection widened by ``slack`` when the track starts, kept exactly while the person's
  detection stays inside it and keeps its size, re-anchored otherwise. Between re-anchors the region,
  its tiles and A's scale are bit-identical from frame to frame. The held box always contains the
  current detection (privacy is never traded for stability), and a track whose detection is lost keeps
  its box for ``max_age`` frames (extra cover where a detector drops a person who stays put; a frame with
  no detection at all still counts as "nobody found" for the fail-closed policy, ``detected``). Only
  detected people are tracked: given boxes are used as they are. P's poses use the detections, not the
  held boxes. (mmdet's trackers need its video data samples and a Kalman motion model; a held box needs
  neither.)
* :class:`TileHold` (conditional replenishment, as a video codec's skipped blocks): a native-resolution
  tile whose pixels and whose A(x) are unchanged (within the clip's noise) since its y' was computed, at
  the same place and with the same nonce, gets that y' again instead of a new G_X pass. Recovery of a
  held tile gives the x it was computed from: the current x within ``tol`` grey levels except on at most a
  fraction ``moving`` of its pixels (y' never carries the newer pixels, so holding cannot leak them).
* Nonces of key-locked models are per region, not per frame: a region that did not move keeps its nonce
  (a held region is a held track). The cost: successive frames of one region share a scramble, so an
  attacker without the key sees several carriers under one permutation. That reveals which coefficient
  positions change together (where motion is, which A(x) shows anyway), not the permutation's content;
  a re-anchored region draws a new nonce.
"""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from mmengine.structures import InstanceData
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from ..io.poses import box_iou
from ..models.utils.keylock import generate_nonce
from .anonymizer import Anonymizer
from .inference import anonymize_checked, as_bgr_uint8, clip_boxes, detect_people, estimate_poses

__all__ = ['PersonTracker', 'TileHold', 'VideoAnonymizer']


def _widen(box: np.ndarray, factor: float) -> np.ndarray:
    centre, half = (box[:2] + box[2:]) / 2, (box[2:] - box[:2]) * factor / 2
    return np.concatenate([centre - half, centre + half])


class PersonTracker:
    """Held person boxes over a video (module docstring).

    Args:
        iou_thr: a detection continues the track it overlaps most if their IoU is at least this.
        slack: a track's box is its detection widened by this factor about its centre when (re-)anchored,
            so that small moves of the person stay inside it.
        shrink: re-anchor when the detection's longer side falls below ``1 / (slack * shrink)`` of the held
            box's (the person walked away: a box much bigger than the person over-blurs and wastes tiles).
        max_age: frames a track keeps its box after its detection is lost (0: drop it at once).
    """

    def __init__(self, iou_thr: float = 0.3, slack: float = 1.1, shrink: float = 1.2, max_age: int = 3):
        if slack < 1 or shrink < 1 or max_age < 0 or not 0 < iou_thr <= 1:
            raise ValueError('PersonTracker needs slack >= 1, shrink >= 1, max_age >= 0 and 0 < iou_thr <= 1')
        self.iou_thr, self.slack, self.shrink, self.max_age = float(iou_thr), float(slack), float(shrink), int(max_age)
        self.boxes = np.zeros((0, 4))   # held boxes
        self.ids: List[int] = []
        self.ages: List[int] = []       # frames since the last matching detection
        self._next = 0

    def _holds(self, held: np.ndarray, det: np.ndarray) -> bool:
        inside = (det[:2] >= held[:2]).all() and (det[2:] <= held[2:]).all()
        big = max(det[2:] - det[:2]) * self.slack * self.shrink >= max(held[2:] - held[:2])
        return bool(inside and big)

    def update(self, detections) -> Tuple[np.ndarray, List[int], List[bool]]:
        """Held boxes (K, 4) for this frame, their track ids and whether each was (re-)anchored now.

        K counts the matched and new tracks plus lost ones younger than ``max_age``.
        """
        det = np.asarray(detections if detections is not None else [], np.float64).reshape(-1, 4)
        match = {}
        if len(det) and len(self.boxes):
            iou = box_iou(self.boxes, det)
            rows, cols = linear_sum_assignment(-iou)
            match = {c: r for r, c in zip(rows, cols) if iou[r, c] >= self.iou_thr}
        boxes, ids, ages, anchored = [], [], [], []
        for j, d in enumerate(det):
            if j in match:
                r = match[j]
                held = self.boxes[r]
                new = not self._holds(held, d)
                boxes.append(_widen(d, self.slack) if new else held)
                ids.append(self.ids[r])
            else:
                new = True
                boxes.append(_widen(d, self.slack))
                ids.append(self._next)
                self._next += 1
            ages.append(0)
            anchored.append(new)
        taken = set(match.values())
        for r in range(len(self.boxes)):
            if r not in taken and self.ages[r] < self.max_age:
                boxes.append(self.boxes[r])
                ids.append(self.ids[r])
                ages.append(self.ages[r] + 1)
                anchored.append(False)
        self.boxes = np.asarray(boxes, np.float64).reshape(-1, 4)
        self.ids, self.ages = ids, ages
        return self.boxes.copy(), list(ids), anchored


class TileHold:
    """Conditional replenishment of native-resolution y' tiles (module docstring).

    A tile is held when, on its valid part, its x and its A(x) differ from those its stored y' was computed
    from by less than ``tol`` grey levels on all but a fraction ``moving`` of the pixels, and by less than
    ``tol`` everywhere for A(x) (A is smooth, so any real change shows there); same frame rect, same nonce.
    """

    def __init__(self, tol: float = 2.0, moving: float = 0.002):
        self.tol, self.moving = float(tol) / 127.5, float(moving)  # tiles are in [-1, 1]
        self._store: Dict[tuple, Tuple[Tensor, Tensor, Tensor]] = {}
        self.held = self.computed = 0

    def _same(self, old: Tensor, new: Tensor, v: Tuple[int, int], frac: float) -> bool:
        d = (old[:, :v[0], :v[1]] - new[:, :v[0], :v[1]]).abs().amax(0)
        return bool((d >= self.tol).float().mean() <= frac)

    def lookup(self, rects: Sequence[tuple], x: Tensor, a: Tensor, valid, nonces) -> List[Optional[Tensor]]:
        """Per tile: the stored y' it may reuse, or None (it must go through G_X)."""
        out = []
        for i, r in enumerate(rects):
            k = (tuple(r), None if nonces is None else bytes(nonces[i]))
            hit = self._store.get(k)
            ok = hit is not None and self._same(hit[0], x[i], valid[i], self.moving) and \
                self._same(hit[1], a[i], valid[i], 0.0)
            out.append(hit[2] if ok else None)
        self.held += sum(o is not None for o in out)
        self.computed += sum(o is None for o in out)
        return out

    def store(self, rects, x: Tensor, a: Tensor, y: Tensor, nonces, reused: Sequence[bool]) -> None:
        """Keep this frame's tiles (held ones keep the x/A they were computed from); forget the others."""
        new = {}
        for i, r in enumerate(rects):
            k = (tuple(r), None if nonces is None else bytes(nonces[i]))
            new[k] = self._store[k] if reused[i] else (x[i].clone(), a[i].clone(), y[i].clone())
        self._store = new


class VideoAnonymizer:
    """An :class:`Anonymizer` for one video stream: held boxes, held tiles, a nonce per held region.

    ``stabilize=False`` gives the per-frame behaviour (each frame on its own) through the same calls, so the
    two can be compared on one clip. Boxes passed to :meth:`anonymize` are used as they are (held tiles and
    nonces still apply wherever they do not move); only detected people go through the tracker.
    """

    def __init__(self, anonymizer: Anonymizer, stabilize: bool = True, tracker: Optional[PersonTracker] = None,
                 hold: Optional[TileHold] = None):
        self.anonymizer, self.stabilize = anonymizer, bool(stabilize)
        self.tracker = (tracker or PersonTracker()) if stabilize else None
        native = getattr(anonymizer.model, 'native_resolution', False)
        self.hold = (hold or TileHold()) if stabilize and native else None
        self._nonces: Dict[tuple, bytes] = {}

    def _region_nonces(self, regions) -> Optional[List[bytes]]:
        if self.anonymizer.key is None:
            return None
        rects = [tuple(int(round(v)) for v in r) for r in regions]
        self._nonces = {k: self._nonces[k] if self.stabilize and k in self._nonces else generate_nonce() for k in rects}
        return [self._nonces[k] for k in rects]

    def anonymize(self, frame: np.ndarray, boxes=None, estimate: bool = True, track: Optional[bool] = None) -> Dict:
        """As :meth:`Anonymizer.anonymize` (``person_boxes`` and ``poses``: the detected or given people), plus
        ``detected`` (people found or given in this frame: 0 means nobody, whatever boxes are held) and, for
        tracked detections, ``held_boxes`` and ``track_ids``. ``track`` (default: whether ``boxes`` is None):
        put the people through the tracker; True for ``boxes`` that are a detector's output found elsewhere."""
        a = self.anonymizer
        frame = as_bgr_uint8(frame)
        person = detect_people(a.model, frame, a.score_thr) if boxes is None else clip_boxes(boxes, frame.shape)
        covered, extra = person, {}
        track = boxes is None if track is None else track
        if self.tracker is not None and track and (len(person) or len(self.tracker.boxes)):
            held, ids, _ = self.tracker.update(person)
            covered = clip_boxes(held, frame.shape)
            extra = dict(held_boxes=covered)
            if len(ids) == len(covered):  # clip_boxes dropped none
                extra['track_ids'] = ids
        out = anonymize_checked(a.model, frame, covered, a.score_thr, a.key, estimate=False,
                                nonces=self._region_nonces, hold=self.hold)
        out.update(extra, person_boxes=person, detected=len(person),
                   poses=estimate_poses(a.model, out['enhanced'], person, a.score_thr) if estimate else InstanceData())
        return out
