"""Video files for the command line: decoding with a frame count check, atomic writing, quiet decoders.

* :func:`quiet_decoders` keeps FFmpeg's and OpenCV's own log lines (``[mpeg4 @ 0x...] ac-tex damaged``,
  ``partial file``, ...) off the terminal; ``MMRECANON_DEBUG=1`` leaves them on.  It sets
  ``OPENCV_FFMPEG_LOGLEVEL=-8`` (quiet) and ``OPENCV_LOG_LEVEL=ERROR`` unless they are set already; call
  it before the first video is opened.
* :func:`open_video` reports the frame count the container header announces; the caller compares it
  with the frames that actually decode (a truncated file decodes fewer, see ``Anonymizer.video``).
* :class:`VideoOut` writes to a hidden temporary file that is renamed when the video is complete.
"""
import os
import os.path as osp
import sys
from typing import Iterator, Optional, Tuple

from .sidecar import tmp_path

# Output video codecs: mp4v is what OpenCV can always write into MP4/MOV (lossy); FFV1 in AVI is
# lossless, so pixels outside the portraits stay bit-identical and G_Y gets exactly y'.
# ``--fourcc FFV1`` also writes lossless FFV1 into .mp4/.mov (OpenCV reads it back bit-exactly; few
# players play it).
VIDEO_FOURCC = {'.mp4': 'mp4v', '.mov': 'mp4v', '.avi': 'FFV1'}
DEFAULT_FPS = 25.0  # when a video does not report its frame rate
QUIET_ENV = {'OPENCV_FFMPEG_LOGLEVEL': '-8', 'OPENCV_LOG_LEVEL': 'ERROR'}  # -8 = AV_LOG_QUIET


def quiet_decoders(debug: bool = False) -> None:
    """Silence FFmpeg/OpenCV log output (not with ``debug``); settings the user made are kept."""
    if debug:
        return
    for name, value in QUIET_ENV.items():
        os.environ.setdefault(name, value)
    cv2 = sys.modules.get('cv2')
    if cv2 is not None and os.environ['OPENCV_LOG_LEVEL'] == 'ERROR':  # imported already: apply now
        try:
            cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        except AttributeError:
            pass


LOSSLESS_FOURCCS = ('FFV1', )  # the codecs above that give back the exact frames (what recovery needs)


def default_fourcc(path: str) -> str:
    return VIDEO_FOURCC.get(osp.splitext(path)[1].lower(), 'mp4v')


def output_fourcc(path: str, fourcc: Optional[str] = None) -> str:
    """The codec a video output is written with: ``fourcc`` (--fourcc) or the default for its extension."""
    return fourcc or default_fourcc(path)


def is_lossless(fourcc: str) -> bool:
    return fourcc.upper() in LOSSLESS_FOURCCS


def open_video(path: str):
    """``(capture, (width, height), fps, frames announced by the header or 0)``; InputError if unreadable."""
    import cv2

    from ..apis.inference import MAX_SIDE, InputError
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        raise InputError('cannot open the video (corrupt or unsupported file)')
    w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
    if max(w, h) > MAX_SIDE:
        cap.release()
        raise InputError(f'video frames are {w}×{h} px; the longest side may be at most {MAX_SIDE} px')
    fps = cap.get(cv2.CAP_PROP_FPS)
    fps = fps if fps and fps == fps and 0 < fps < 1000 else DEFAULT_FPS
    return cap, (w, h), fps, max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0)


def frame_count(path: str) -> int:
    """Frames announced by the header (0 if unknown or unreadable); for progress bars."""
    import cv2
    cap = cv2.VideoCapture(path)
    try:
        return max(int(cap.get(cv2.CAP_PROP_FRAME_COUNT)), 0) if cap.isOpened() else 0
    finally:
        cap.release()


def frames(cap, size) -> Iterator[Tuple[int, object]]:
    """Decoded frames in order; a frame of another size is an input error."""
    from ..apis.inference import InputError
    idx = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if (frame.shape[1], frame.shape[0]) != tuple(size):
            raise InputError(f'frame {idx} is {frame.shape[1]}×{frame.shape[0]}, expected {size[0]}×{size[1]}')
        yield idx, frame
        idx += 1


def frame_count_warning(name: str, decoded: int, header: int) -> Optional[str]:
    """The warning for a video whose header announces another number of frames than decode (else None)."""
    if not header or decoded == header:
        return None
    return (f'warning: {name}: {decoded} of {header} frames decoded (the header announces {header}; the file is '
            f'truncated or corrupt): the output has {decoded} frames')


def video_writer(path: str, fps: float, size: Tuple[int, int], fourcc: Optional[str]):
    import cv2
    os.makedirs(osp.dirname(path), exist_ok=True)
    code = output_fourcc(path, fourcc)
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*code), fps, size)
    if not writer.isOpened():
        raise OSError(f'cannot write video {path} with codec {code!r} (try --fourcc)')
    return writer


class VideoOut:
    """Frames written in order to a temporary file, renamed to ``path`` when complete."""

    def __init__(self, path: str, fps: float, size, fourcc: Optional[str]):
        self.path, self.tmp = path, tmp_path(path)
        self.writer = video_writer(self.tmp, fps, size, fourcc)

    def write(self, frame) -> None:
        self.writer.write(frame)

    def commit(self) -> None:
        self.writer.release()
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        self.writer.release()
        if osp.exists(self.tmp):
            os.remove(self.tmp)
