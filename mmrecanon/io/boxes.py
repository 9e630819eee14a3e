"""Person boxes given with ``--boxes``: parsed and checked so that no person is ever dropped silently."""
import json
import os.path as osp
from typing import Dict, List, Optional

from .jobs import Job, UsageError, warn
from .sidecar import read_json, unsafe_name, value_digest

# Person-box coordinates beyond this (pixels from the origin) are refused as out of range.
MAX_COORD = 1e6


def parse_boxes(value, where: str):
    """Person boxes [[x1, y1, x2, y2], ...] → (N, 4) float32.

    Inverted boxes (x2 < x1 or y2 < y1) get their corners swapped, with a warning; boxes without area,
    NaN and coordinates beyond ±MAX_COORD are refused (a usage error: a person must never be dropped
    silently).
    """
    import numpy as np
    if not isinstance(value, list) or not all(isinstance(b, list) and len(b) == 4 and
                                              all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                  for v in b) for b in value):
        raise UsageError(f'{where}: expected a list of [x1, y1, x2, y2] boxes')
    boxes = []
    for i, box in enumerate(value):
        for v in box:
            if v != v:
                raise UsageError(f'{where}: box {i} has a NaN coordinate')
            if not -MAX_COORD <= v <= MAX_COORD:
                raise UsageError(f'{where}: box {i}: coordinate {json.dumps(v)[:24]} is out of range '
                               f'(at most {MAX_COORD:.0f} px from the origin)')
        x1, y1, x2, y2 = (float(v) for v in box)
        if x1 == x2 or y1 == y2:
            raise UsageError(f'{where}: box {i} {box} has no area (x1 = x2 or y1 = y2); give the person\'s '
                           'full extent')
        if x2 < x1 or y2 < y1:
            warn(f'warning: {where}: box {i} {box} is inverted (x2 < x1 or y2 < y1): corners swapped')
            x1, x2 = min(x1, x2), max(x1, x2)
            y1, y2 = min(y1, y2), max(y1, y2)
        boxes.append([x1, y1, x2, y2])
    return np.asarray(boxes, np.float32).reshape(-1, 4)


class BoxSpec:
    """Person boxes given with ``--boxes`` (xyxy, image pixels).  Accepted JSON:

    * ``[[x1, y1, x2, y2], ...]``: the same boxes for every image and every video frame;
    * ``{"name": [[x1, y1, x2, y2], ...], ...}``: per input file (its name relative to IN, or its file
      name), for a video the boxes of every frame;
    * ``{"clip.mp4": {"0": [[...]], "7": [[...]]}}``: per video frame (0-based index).
    ``[]`` means "nobody here" (``--if-nobody`` applies).  Images/frames not listed are detected
    (detector or bottom-up P).  Every name must match an input (:meth:`check`).
    """

    def __init__(self, path: str):
        data = read_json(path, 'boxes file')
        self.path = path
        self.default = None
        self.per_file: Dict[str, object] = {}
        if isinstance(data, list):
            self.default = parse_boxes(data, path)
        elif isinstance(data, dict):
            for name, value in data.items():
                if isinstance(value, dict):
                    frames = {}
                    for idx, boxes in value.items():
                        if not str(idx).isdigit():
                            raise UsageError(f'{path}: frame keys of {name!r} must be 0-based indices, got {idx!r}')
                        frames[int(idx)] = parse_boxes(boxes, f'{path}[{name!r}][{idx!r}]')
                    self.per_file[name] = frames
                else:
                    self.per_file[name] = parse_boxes(value, f'{path}[{name!r}]')
        else:
            raise UsageError(f'{path}: expected a list of boxes or an object keyed by file name')

    def check(self, jobs: List[Job], folder: str) -> None:
        """Every name must stay inside ``folder`` (-i) and match an input; per-frame boxes only for videos."""
        for name, value in self.per_file.items():
            reason = unsafe_name(name, folder)
            if reason is not None and 'symbolic link' not in reason:  # boxes names are matched, never opened
                raise UsageError(f'{self.path}: the entry {name!r} {reason}')
            matches = [j for j in jobs if j.rel == name or osp.basename(j.rel) == name]
            if not matches:
                raise UsageError(f'{self.path}: the entry {name!r} matches no input in {folder} (names are '
                               'relative to -i, or file names); its person would not be anonymized')
            images = [j.rel for j in matches if j.kind == 'image']
            if isinstance(value, dict) and images:
                raise UsageError(f'{self.path}: the entry {name!r} gives per-frame boxes, but {images[0]} is an image')

    def entry(self, rel: str):
        if rel in self.per_file:
            return self.per_file[rel]
        return self.per_file.get(osp.basename(rel), self.default)

    def get(self, rel: str, frame: Optional[int] = None):
        """Boxes for an image (``frame=None``) or a video frame; None when not given."""
        entry = self.entry(rel)
        if isinstance(entry, dict):
            return entry.get(frame) if frame is not None else None
        return entry

    def source(self, rel: str) -> Optional[str]:
        """Digest of the boxes given for ``rel`` (None: none given, people are detected)."""
        entry = self.entry(rel)
        if entry is None:
            return None
        if isinstance(entry, dict):
            return value_digest({str(k): v.tolist() for k, v in sorted(entry.items())})
        return value_digest(entry.tolist())
