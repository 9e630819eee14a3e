"""Files, folders and videos through an :class:`~mmrecanon.apis.Anonymizer`, with their sidecars.

What ``mmrecanon anonymize`` and ``mmrecanon recover`` do for each file (the command line only parses,
checks its arguments and reports):

* :class:`FileAnonymizer`: y' of one image or video into the output folder, the portrait sidecar entry
  (boxes, nonces, digests, what produced it, whether nobody was found) and the poses; fails closed where
  nobody is found (``if_nobody``);
* :class:`FileRecoverer`: x' of one file listed in a portrait sidecar, after checking that the file and
  its boxes are the ones anonymization wrote.
"""
import os
import os.path as osp
from typing import Dict, List, Optional, Tuple

from ..io import video
from ..io.boxes import BoxSpec
from ..io.jobs import IF_NOBODY, Job, UsageError, warn, write_image
from ..io.keyfile import check_value
from ..io.poses import MATCH_IOU, pose_entries
from ..io.sidecar import (POSES, RecoverRecord, Sidecars, boxes_digest, check_anonymized, config_digest,
                          remove_stale_tmp, sha256_file, unsafe_name)
from ..visualization import draw_panel
from .anonymizer import Anonymizer
from .inference import InputError, read_image
from .video import VideoAnonymizer

def panel(model, original, enhanced, poses):
    """original | privacy-enhanced | P's poses on it (the ``--vis`` picture)."""
    view = 'enhanced' if model.has_generators else 'conventional'
    frames = {'original': original, view: enhanced, 'poses': enhanced}
    return draw_panel(frames, {'poses': poses}, model.dataset_meta, views=('original', view, 'poses'))


class FileAnonymizer:
    """Anonymizes one file (image or video) at a time into the output folder, with its sidecar entries.

    ``results`` holds (people, nobody found) per output name for the summary.

    Args:
        anonymizer: the :class:`Anonymizer` (model, detector, key, score threshold).
        sidecars: the output folder's sidecars (``io.sidecar.Sidecars``).
        spec: person boxes given with ``--boxes`` (``io.boxes.BoxSpec``) or None (people are detected).
        checkpoint, det_checkpoint: the files the model and detector came from (fingerprints for resuming).
        if_nobody: what to write where nobody is found (``IF_NOBODY``).
        fourcc: output video codec (None: by extension).
        stabilize: videos through :class:`~mmrecanon.apis.video.VideoAnonymizer` (held boxes of detected people,
            held tiles, a nonce per held region) instead of frame by frame.
        pose_checkpoint: the file P's weights came from, if not the checkpoint (fingerprint for resuming).
    """

    def __init__(self, anonymizer: Anonymizer, sidecars: Sidecars, spec: Optional[BoxSpec], checkpoint: str,
                 det_checkpoint: Optional[str] = None, if_nobody: str = IF_NOBODY[0], fourcc: Optional[str] = None,
                 stabilize: bool = True, pose_checkpoint: Optional[str] = None):
        self.anonymizer, self.model, self.key = anonymizer, anonymizer.model, anonymizer.key
        self.spec, self.sidecars, self.fourcc = spec, sidecars, fourcc
        self.policy, self.stabilize = if_nobody, bool(stabilize)
        self.results: Dict[str, Tuple[int, bool]] = {}
        self.base = dict(checkpoint=sha256_file(checkpoint), config=config_digest(self.model.cfg),
                         score_thr=anonymizer.score_thr, if_nobody=self.policy)
        if self.key is not None:
            self.base['key_check'] = check_value(self.key)
        det = anonymizer.detector
        if pose_checkpoint is not None:
            self.base['pose_checkpoint'] = sha256_file(pose_checkpoint)
        self.detect = 'pose-model' if det is None else dict(
            config=config_digest(det.cfg), checkpoint=sha256_file(det_checkpoint))
        self._fp: Dict[str, dict] = {}
        self.bottomup = self.model.pose.pose_mode != 'topdown'

    @staticmethod
    def sidecar_header(anonymizer: Anonymizer, config: str) -> dict:
        """The portrait sidecar's header: what the boxes are, the model's portrait geometry, the key check."""
        model = anonymizer.model
        info = dict(
            note='Portrait boxes [x1, y1, x2, y2] (image pixels) that were privacy-enhanced, per image / per '
                 'video frame. "mmrecanon recover" needs them. Not secret: they only say where people are.',
            config=osp.basename(config), method=model.method, portrait_size=model.portrait_size,
            portrait_margin=model.portrait_margin)
        if anonymizer.key is not None:
            info.update(key_check=check_value(anonymizer.key), key_note='Key-locked: recovery needs the key file. '
                        'nonces are public per-portrait values; key_check only tells whether a key is the right one.')
        return info

    def summary(self, jobs: List[Job]) -> Tuple[int, int, int, int]:
        """(files done, people anonymized, files with nobody found, images not written) over ``jobs``: this
        run's results, and the sidecar entries of files an earlier run did."""
        people = nobody = files_done = not_written = 0
        for job in jobs:
            if job.out_rel in self.results:
                n, none = self.results[job.out_rel]
                not_written += none and job.kind == 'image' and self.policy == 'skip'
            elif self.sidecars.status(job, self.produced_by(job))[0]:  # already done: its sidecar entry
                entry = self.sidecars.files[job.out_rel]
                n, none = int(entry.get('people', 0)), 'nobody' in entry
            else:  # unreadable
                continue
            files_done += 1
            people += n
            nobody += none
        return files_done, people, nobody, not_written

    def produced_by(self, job: Job) -> dict:
        """What this run would produce ``job`` from (compared with the sidecar entry to resume)."""
        if job.out_rel not in self._fp:
            fp = dict(self.base)
            given = self.spec.source(job.rel) if self.spec is not None else None
            entry = self.spec.entry(job.rel) if self.spec is not None else None
            people = {} if given is None else {'boxes': given}
            if entry is None or isinstance(entry, dict):  # some or all frames are detected
                people['detect'] = self.detect
            fp['people'] = people
            if job.kind == 'video':
                fp['fourcc'] = video.output_fourcc(job.out, self.fourcc)
                fp['stabilize'] = self.stabilize
            self._fp[job.out_rel] = fp
        return self._fp[job.out_rel]

    def done(self, job: Job) -> bool:
        done, why = self.sidecars.status(job, self.produced_by(job))
        if why:
            print(why, flush=True)
        return done

    def _boxes(self, rel: str, frame: Optional[int] = None):
        return self.spec.get(rel, frame) if self.spec is not None else None

    def _anonymize(self, frame, given, stream=None):
        """Anonymizer.anonymize (or the video ``stream``'s), plus how many given boxes were dropped (outside the
        frame)."""
        res = (stream or self.anonymizer).anonymize(frame, given)
        return res, 0 if given is None else len(given) - len(res['person_boxes'])

    def _poses(self, res, given, name: str, frame: Optional[int] = None) -> Tuple[list, int]:
        """poses.json entries: with given boxes one per box (a bottom-up P's detections matched to them, see
        mmrecanon.io.poses), and how many of P's detections match no given box."""
        return pose_entries(res['poses'], name, frame, None if given is None else res['person_boxes'],
                            self.bottomup)

    @staticmethod
    def _unmatched_warning(rel: str, unmatched: int, frames: int = 0) -> None:
        if unmatched:
            where = f' in {frames} frame(s)' if frames else ''
            warn(f'warning: {rel}: P found {unmatched} person(s){where} that match no given box (IoU < {MATCH_IOU}): '
                  'not anonymized unless a given box covers them; check --boxes')

    def image(self, job: Job) -> None:
        img = read_image(job.src)
        given = self._boxes(job.rel)
        res, dropped = self._anonymize(img, given)
        if dropped:
            warn(f'warning: {job.rel}: {dropped} given box(es) lie outside the {img.shape[1]}×{img.shape[0]} '
                  'image: ignored')
        people = len(res['boxes'])
        for p in job.outputs():
            remove_stale_tmp(p)
        entry = dict(type='image', source=job.rel, height=img.shape[0], width=img.shape[1], boxes=res['boxes'],
                     people=people)
        enhanced = res['enhanced']
        if people == 0:
            if self.policy == 'skip':
                self.sidecars.remove(job)  # an earlier run's output of this file must not stay
                self.results[job.out_rel] = (0, True)
                warn(f'warning: {job.rel}: nobody found: no output written (--if-nobody skip)')
                return
            if self.policy == 'desensitize':
                enhanced = self.anonymizer.desensitize(img)
                entry['nobody'] = 'desensitized'
            else:
                entry['nobody'] = 'kept'
        if 'nonces' in res:
            entry['nonces'] = res['nonces']
        entry['produced_by'] = self.produced_by(job)
        poses, unmatched = self._poses(res, given, job.out_rel)
        entry['output_sha256'] = write_image(job.out, enhanced)
        entry['boxes_sha256'] = boxes_digest(entry)
        if job.vis:
            write_image(job.vis, panel(self.model, img, enhanced, res['poses']))
        self.sidecars.add(job, entry, poses)
        self.results[job.out_rel] = (people, people == 0)
        self._unmatched_warning(job.rel, unmatched)
        if people:
            print(f'{job.rel}: {people} {"person" if people == 1 else "people"} anonymized{no_pose(poses)}',
                  flush=True)
        elif self.policy == 'desensitize':
            warn(f'warning: {job.rel}: nobody found: wrote the whole image desensitized with A(x) '
                  '(--if-nobody desensitize)')
        else:
            warn(f'warning: {job.rel}: nobody found: wrote the ORIGINAL image unchanged (--if-nobody keep)')

    def video(self, job: Job, bar=None) -> None:
        cap, size, fps, header = video.open_video(job.src)
        for p in job.outputs():
            remove_stale_tmp(p)
        outs = []
        try:
            outs.append(video.VideoOut(job.out, fps, size, self.fourcc))
            if job.vis:
                outs.append(video.VideoOut(job.vis, fps, (3 * size[0], size[1]), 'mp4v'))
            frames, nonces, poses, nobody, dropped, unmatched, people = [], [], [], [], 0, [], 0
            stream = VideoAnonymizer(self.anonymizer, self.stabilize)  # given boxes stay as given
            for idx, frame in video.frames(cap, size):
                given = self._boxes(job.rel, idx)
                res, lost = self._anonymize(frame, given, stream)
                dropped += bool(lost)
                enhanced, boxes, frame_nonces = res['enhanced'], res['boxes'], res.get('nonces')
                people += res['detected']
                if not res['detected']:  # nobody found in this frame (held boxes of lost people do not count)
                    nobody.append(idx)
                    if self.policy != 'keep':  # 'skip' too: a video frame cannot be dropped
                        enhanced, boxes = self.anonymizer.desensitize(frame), []
                        frame_nonces = None if frame_nonces is None else []  # the sidecar's per-frame lists
                outs[0].write(enhanced)
                if job.vis:
                    outs[1].write(panel(self.model, frame, enhanced, res['poses']))
                frames.append(boxes)
                nonces.append(frame_nonces)
                entries, extra = self._poses(res, given, job.out_rel, idx)
                poses.extend(entries)
                unmatched.append(extra)
                if bar is not None:
                    bar.update()
            if not frames:
                raise InputError('no frame could be decoded (corrupt or empty video)')
            for out in outs:
                out.commit()
        except BaseException:
            for out in outs:
                out.abort()
            raise
        finally:
            cap.release()
        entry = dict(type='video', source=job.rel, height=size[1], width=size[0], fps=fps, frames=frames,
                     people=people, header_frames=header)
        if nobody:
            entry.update(nobody='kept' if self.policy == 'keep' else 'desensitized', nobody_frames=nobody)
        if self.key is not None:
            entry['frame_nonces'] = nonces
        entry['produced_by'] = self.produced_by(job)
        entry['output_sha256'] = sha256_file(job.out)
        entry['boxes_sha256'] = boxes_digest(entry)
        self.sidecars.add(job, entry, poses)
        self.results[job.out_rel] = (people, bool(nobody))
        mismatch = video.frame_count_warning(job.rel, len(frames), header)
        if mismatch:
            warn(mismatch)
        self._unmatched_warning(job.rel, sum(unmatched), sum(n > 0 for n in unmatched))
        if dropped:
            warn(f'warning: {job.rel}: in {dropped} frame(s) given boxes lie outside the {size[0]}×{size[1]} '
                  'frame: ignored')
        print(f'{job.rel}: {len(frames)} frames, {people} people anonymized (summed over frames){no_pose(poses)}',
              flush=True)
        if nobody:
            shown = ', '.join(map(str, nobody[:10])) + (', ...' if len(nobody) > 10 else '')
            what = ('written unchanged (--if-nobody keep)' if self.policy == 'keep' else
                    f'desensitized whole with A(x) (--if-nobody {self.policy}; video frames are never dropped)')
            warn(f'warning: {job.rel}: nobody found in {len(nobody)} of {len(frames)} frames ({shown}): {what}')


def no_pose(poses: list) -> str:
    """', P found no pose for N of them' when given boxes got ``"keypoints": null`` in poses.json."""
    n = sum(p.get('keypoints', ()) is None for p in poses)
    return f'; P found no pose for {n} of them ("keypoints": null in {POSES})' if n else ''


class FileRecoverer:
    """Recovers one file of a portrait sidecar at a time into the output folder (``RecoverRecord``).

    ``whole`` lists the images that were desensitized whole when anonymized (nobody found): nothing to
    recover, no output.
    """

    def __init__(self, anonymizer: Anonymizer, entries: Dict[str, dict], record: RecoverRecord, checkpoint: str,
                 key_check: Optional[str] = None, fourcc: Optional[str] = None):
        self.anonymizer, self.entries, self.record, self.fourcc = anonymizer, entries, record, fourcc
        self.whole: List[Job] = []
        self.base = dict(checkpoint=sha256_file(checkpoint), config=config_digest(anonymizer.model.cfg))
        if key_check is not None:
            self.base['key_check'] = key_check

    @staticmethod
    def jobs(src: str, out: str, sidecar: str, entries: Dict[str, dict]) -> Tuple[List[Job], int]:
        """The jobs of the sidecar's entries under ``src`` (a folder, or one file) and how many names were
        refused (a name from a sidecar is read under -i and written under -o only)."""
        refused = 0
        if osp.isdir(src):
            names = []
            for name in sorted(entries):
                reason = unsafe_name(name, src) or unsafe_name(name, out)
                if reason is not None:
                    refused += 1
                    warn(f'skipping the entry {name!r} of {sidecar}: the name {reason}; nothing read or written')
                    continue
                names.append(name)
        else:
            rel = osp.relpath(src, osp.dirname(sidecar)).replace(os.sep, '/')
            if rel not in entries:
                matches = [n for n in entries if osp.basename(n) == osp.basename(src)]
                if len(matches) != 1:
                    raise UsageError(f'{sidecar} has no portrait boxes for {src}')
                rel = matches[0]
            names = [rel]
        jobs = [Job(osp.join(src, *n.split('/')) if osp.isdir(src) else src, n, out,
                    osp.basename(src) if not osp.isdir(src) else n, False) for n in names]
        for job in jobs:
            if job.kind is None:
                raise UsageError(f'{sidecar}: unsupported file type for {job.rel}')
        return jobs, refused

    def produced_by(self, job: Job) -> dict:
        entry = self.entries[job.rel]
        fp = dict(self.base, input=sha256_file(job.src) if osp.isfile(job.src) else None,
                  boxes=boxes_digest(entry) if isinstance(entry, dict) else None)
        if job.kind == 'video':
            fp['fourcc'] = video.output_fourcc(job.out, self.fourcc)
        return fp

    def done(self, job: Job) -> bool:
        finished, why = self.record.status(job, self.produced_by(job))
        if why:
            print(why, flush=True)
        return finished

    def process(self, job: Job, bar=None) -> None:
        entry = self.entries[job.rel]
        if not isinstance(entry, dict):
            raise InputError('its portrait sidecar entry is not an object')
        if entry.get('nobody') == 'desensitized' and job.kind == 'image':
            self.whole.append(job)
            print(f'{job.rel}: not recovered: nobody was found when it was anonymized and the whole image was '
                  'desensitized with A(x), which G_Y cannot undo; no output written', flush=True)
            return
        if not osp.isfile(job.src):
            raise InputError('file listed in the portrait sidecar not found')
        reason = check_anonymized(entry, job.src)
        if reason == 'unverified':
            warn(f'warning: {job.rel}: its sidecar entry has no digests (written by an older mmrecanon): cannot '
                 'check that the file and its boxes are the ones anonymize wrote')
        elif reason is not None:
            raise InputError(reason)
        remove_stale_tmp(job.out)
        if job.kind == 'image':
            img = read_image(job.src)
            check_size(entry, img.shape[1], img.shape[0])
            write_image(job.out, self.anonymizer.recover(img, entry.get('boxes', []), entry.get('nonces')))
        else:
            recover_video(self.anonymizer, job, entry, self.fourcc, bar)
            if entry.get('nobody') == 'desensitized':
                print(f'{job.rel}: {len(entry.get("nobody_frames", []))} frame(s) were desensitized whole when '
                      'nobody was found: left as they are (A(x) cannot be undone)', flush=True)
        self.record.add(job, self.produced_by(job))


def check_size(entry: dict, w: int, h: int) -> None:
    if (entry.get('width'), entry.get('height')) not in ((None, None), (w, h)):
        raise InputError(f'is {w}×{h} but the sidecar boxes are for {entry["width"]}×{entry["height"]} '
                         '(resized after anonymization?)')


def recover_video(anonymizer: Anonymizer, job: Job, entry: dict, fourcc: Optional[str], bar) -> None:
    key = anonymizer.key
    frames = entry.get('frames')
    if not isinstance(frames, list):
        raise InputError('the sidecar entry has no per-frame boxes')
    nonces = entry.get('frame_nonces') if key is not None else None
    if key is not None and not (isinstance(nonces, list) and len(nonces) == len(frames)):
        raise InputError('the sidecar entry has no per-frame nonces (not anonymized with a key?)')
    cap, size, fps, _ = video.open_video(job.src)
    check_size(entry, *size)
    out = None
    try:
        out = video.VideoOut(job.out, fps, size, fourcc)
        n = 0
        for idx, frame in video.frames(cap, size):
            if idx >= len(frames):
                raise InputError(f'has more frames than the sidecar ({len(frames)})')
            out.write(anonymizer.recover(frame, frames[idx], None if nonces is None else nonces[idx]))
            n += 1
            if bar is not None:
                bar.update()
        if n != len(frames):
            raise InputError(f'has {n} frames but the sidecar lists {len(frames)}')
        out.commit()
    except BaseException:
        if out is not None:
            out.abort()
        raise
    finally:
        cap.release()
