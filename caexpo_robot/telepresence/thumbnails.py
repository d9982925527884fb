"""The camera thumbnail operators see: downscaled, JPEG, with every face the detector found blurred ON the robot.

Privacy by default: no raw frame leaves the robot. A face is made unrecognisable twice over: its box,
enlarged by a margin (hair, ears, a box that lags a moving head), is pixelated to a few cells and then
Gaussian-blurred, so zooming into the thumbnail shows a smooth smear, not blocks that a depixelation
model could read. A frame whose faces are not known (no FacesFrame close enough to its stamp) is not
sent at all (`FaceBoxes.for_stamp` returns None): an unblurred face would be the failure mode.
Pure: OpenCV and numpy, no rclpy.
"""
from __future__ import annotations

from collections import deque
from typing import Iterable, Protocol, Sequence

import cv2
import numpy as np

from caexpo_robot.fleet.protocol import MAX_THUMBNAIL_JPEG_BYTES as MAX_JPEG_BYTES  # what the wire accepts
from caexpo_robot.messages import FacesFrame, TrackedFace

# Cells across (and down) a blurred face: a face 4 cells wide carries no identity, only a skin tone.
PIXEL_CELLS = 3
# MAX_JPEG_BYTES (imported): the envelope's 96 kB of JPEG; the quality steps down until the thumbnail fits.
# A FacesFrame this far from an image's stamp still describes it (the detector stamps its frames with
# the camera frame's stamp, so the usual match is exact).
MATCH_S = 0.2


class Box(Protocol):
    """A normalised face box: TrackedFace, perception's FaceDetection, or anything with x, y, w, h."""
    x: float
    y: float
    w: float
    h: float


def _pixel_box(box: Box, width: int, height: int, margin: float) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the box enlarged by `margin` of its size on every side, clipped to the image;
    None when nothing of it is inside the image. Rounded outwards: a half pixel of face stays covered."""
    x0 = (box.x - margin * box.w) * width
    y0 = (box.y - margin * box.h) * height
    x1 = (box.x + box.w * (1 + margin)) * width
    y1 = (box.y + box.h * (1 + margin)) * height
    if not all(np.isfinite(v) for v in (x0, y0, x1, y1)):
        return None
    x0, y0 = max(0, int(np.floor(x0))), max(0, int(np.floor(y0)))
    x1, y1 = min(width, int(np.ceil(x1))), min(height, int(np.ceil(y1)))
    return (x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def _smear(region: np.ndarray) -> np.ndarray:
    """The region pixelated to PIXEL_CELLS cells, scaled back smoothly and Gaussian-blurred."""
    h, w = region.shape[:2]
    cells = cv2.resize(region, (min(PIXEL_CELLS, w), min(PIXEL_CELLS, h)), interpolation=cv2.INTER_AREA)
    smooth = cv2.resize(cells, (w, h), interpolation=cv2.INTER_LINEAR)
    # A kernel of half the region's size: the cells' edges vanish too.
    k = max(3, max(w, h) | 1)
    return cv2.GaussianBlur(smooth, (k, k), 0)


def blur_faces(rgb: np.ndarray, boxes: Iterable[Box], margin: float = 0.25) -> tuple[np.ndarray, int]:
    """A copy of the HxWx3 uint8 image with every box (enlarged by `margin`) smeared, and how many boxes
    touched the image. Outside the boxes the pixels are exactly the input's."""
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3):
        raise ValueError('blur_faces needs an HxWx3 uint8 image')
    if not margin >= 0:
        raise ValueError(f'margin must be >= 0, got {margin!r}')
    out = rgb.copy()
    height, width = out.shape[:2]
    regions = [r for r in (_pixel_box(box, width, height, margin) for box in boxes) if r is not None]
    # In turn, from the image as smeared so far: where boxes overlap the area is smeared twice (only
    # smoother); every pixel of the union is smeared at least once.
    for x0, y0, x1, y1 in regions:
        out[y0:y1, x0:x1] = _smear(out[y0:y1, x0:x1])
    return out, len(regions)


def thumbnail(rgb: np.ndarray, faces: Sequence[Box], max_width: int = 320, quality: int = 70,
              margin: float = 0.25) -> tuple[bytes, int, int, int]:
    """(JPEG bytes, width, height, faces blurred): the frame downscaled to at most `max_width` wide (never
    enlarged), every face blurred, encoded at `quality` (lower if needed to stay within MAX_JPEG_BYTES)."""
    if not (isinstance(rgb, np.ndarray) and rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.size):
        raise ValueError('thumbnail needs an HxWx3 image')
    if max_width < 16 or not 1 <= quality <= 100:
        raise ValueError(f'max_width must be >= 16 and quality 1..100, got {max_width}, {quality}')
    height, width = rgb.shape[:2]
    if width > max_width:   # downscale first: the blur then costs a thumbnail's pixels, not a frame's
        height = max(1, round(height * max_width / width))
        width = max_width
        small = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    else:
        small = rgb
    blurred, n = blur_faces(small, faces, margin)
    bgr = cv2.cvtColor(blurred, cv2.COLOR_RGB2BGR)
    for q in range(quality, 0, -15):
        ok, jpeg = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, q])
        if ok and len(jpeg) <= MAX_JPEG_BYTES:
            return jpeg.tobytes(), width, height, n
    raise ValueError(f'a {width}x{height} thumbnail does not fit in {MAX_JPEG_BYTES} bytes of JPEG')


class FaceBoxes:
    """The recent FacesFrames, to find the faces of a camera image by its stamp (the detector publishes
    one per frame it processed, stamped with the frame's stamp)."""

    def __init__(self, match_s: float = MATCH_S, keep: int = 32) -> None:
        self.match_s = match_s
        self.frames: deque[FacesFrame] = deque(maxlen=keep)

    def add(self, frame: FacesFrame) -> None:
        self.frames.append(frame)

    def for_stamp(self, stamp: float) -> list[TrackedFace] | None:
        """The faces of the FacesFrame nearest `stamp` if within match_s, else None (then: send nothing)."""
        best = min(self.frames, key=lambda f: abs(f.stamp - stamp), default=None)
        if best is None or abs(best.stamp - stamp) > self.match_s:
            return None
        return list(best.faces)
