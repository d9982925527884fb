"""The frame pipeline: one camera frame in, that frame's tracked faces (a `FacesFrame`) out.

Pure and clock-fed: no rclpy, time is the frame's stamp, durations come from an injected timer, and
the detector is injected (mediapipe's `FaceDetector` on the robot, scripted detections in tests).
Per frame, in order:
1. idle skipping: while nobody is tracked, detect at most `idle_detect_hz` times a second; the other
   frames give an empty `FacesFrame` at once (an empty entrance costs little CPU);
2. detection;
3. a gap longer than `track_gap_s` or time going back restarts tracking: nobody keeps an id across
   the break (camera away, simulation reset);
4. tracking (`FaceTracker`: stable ids, confirmed after `confirm_hits`), engagement with hysteresis
   (`EngagementEstimator`), distance from the face width and the focal length: the camera's own
   (CameraInfo) while it matches the frame size, else from `hfov_deg`;
5. debug crops of confirmed faces, written only if `debug_save_dir` is set (privacy: off by default).
"""
from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import cv2
import numpy as np

from caexpo_robot.messages import FacesFrame, TrackedFace
from caexpo_robot.perception.engagement import EngagementEstimator, estimate_distance_m, facing_score, focal_length_px
from caexpo_robot.perception.face_detection import FaceDetection
from caexpo_robot.perception.tracking import FaceTracker, Track

# What a TrackedFace may carry (messages.py): a distance in (0, 1000] m. A box the size of the frame
# under a very wide lens, or a speck far away, is clamped rather than refused.
MIN_DISTANCE_M, MAX_DISTANCE_M = 0.01, 1000.0
# A CameraInfo's focal length is believed only if it gives a horizontal field of view a real lens has
# for the message's width (fx = 1e9 once put a face 1,184 km away).
MIN_HFOV_DEG, MAX_HFOV_DEG = 10.0, 170.0


def intrinsics_problem(k: object, width: int, height: int, max_pixels: int | None = None) -> str | None:
    """What is wrong with a CameraInfo's intrinsic matrix `k` (9 numbers, fx = k[0]) for frames of
    width x height, or None if it is usable: every entry finite, the size positive (and at most
    `max_pixels`), fx positive and plausible (a horizontal field of view in [10, 170] degrees)."""
    try:
        values = [float(v) for v in k]
    except (TypeError, ValueError):
        return f'k is not a list of numbers: {str(k)[:80]}'
    if len(values) != 9:
        return f'k must hold 9 numbers, got {len(values)}'
    if not all(math.isfinite(v) for v in values):
        return f'k holds a non-finite number: {values}'
    if not (width > 0 and height > 0):
        return f'empty size {width}x{height}'
    if max_pixels is not None and width * height > max_pixels:
        return f'size {width}x{height} is larger than {max_pixels} pixels'
    fx = values[0]
    if fx <= 0:
        return f'fx = {fx:g} (an uncalibrated or broken camera): not a focal length'
    hfov = math.degrees(2.0 * math.atan(width / (2.0 * fx)))
    if not MIN_HFOV_DEG <= hfov <= MAX_HFOV_DEG:
        return (f'fx = {fx:g} px gives a {hfov:.3g}° field of view for {width} px, outside '
                f'[{MIN_HFOV_DEG:g}, {MAX_HFOV_DEG:g}]°')
    return None


class Detector(Protocol):
    def detect(self, rgb: np.ndarray) -> list[FaceDetection]: ...
    def close(self) -> None: ...


@dataclass(frozen=True)
class FrameSettings:
    """The face_detector node's parameters that shape the pipeline (defaults: the node's PARAMS)."""
    confirm_hits: int
    max_misses: int
    engage_distance_m: float
    disengage_distance_m: float
    min_facing: float
    engage_after_s: float
    disengage_after_s: float
    track_gap_s: float
    face_width_m: float
    hfov_deg: float
    idle_detect_hz: float
    debug_save_dir: str

    def __post_init__(self) -> None:
        if not self.track_gap_s > 0:
            raise ValueError(f'track_gap_s must be positive, got {self.track_gap_s}')
        if not (math.isfinite(self.face_width_m) and self.face_width_m > 0):
            raise ValueError(f'face_width_m must be positive, got {self.face_width_m}')
        if not 0.0 < self.hfov_deg < 180.0:
            raise ValueError(f'hfov_deg must be in (0, 180), got {self.hfov_deg}')
        if not self.idle_detect_hz >= 0:
            raise ValueError(f'idle_detect_hz must be >= 0 (0 = every frame), got {self.idle_detect_hz}')


class FramePipeline:
    """One camera's frames, in stamp order, to tracked faces. Synchronous: nothing runs in between calls."""

    def __init__(self, detector: Detector, settings: FrameSettings,
                 count: Callable[[str, int], None] | None = None,
                 timer: Callable[[], float] = time.perf_counter) -> None:
        self.detector = detector
        self.settings = settings
        self.tracker = FaceTracker(confirm_hits=settings.confirm_hits, max_misses=settings.max_misses)
        self.engagement = EngagementEstimator(
            engage_distance_m=settings.engage_distance_m, disengage_distance_m=settings.disengage_distance_m,
            min_facing=settings.min_facing, engage_after_s=settings.engage_after_s,
            disengage_after_s=settings.disengage_after_s)
        # frames_processed, frames_skipped_idle, tracker_resets, invalid_detections
        self.counters: collections.Counter[str] = collections.Counter()
        self._count = count or (lambda key, n=1: self.counters.update({key: n}))
        self._timer = timer
        self._intrinsics: tuple[float, int, int] | None = None   # (fx, width, height) of a CameraInfo
        self._last_detected: float | None = None                 # stamp of the last frame detected on
        self.last: FacesFrame | None = None                      # the last frame detected on, for diagnostics

    # --- camera intrinsics ---------------------------------------------------------------------------
    def use_camera_info(self, fx: float, width: int, height: int) -> bool:
        """Take a calibrated focal length (CameraInfo k[0], pixels) for frames of width x height,
        replacing any earlier one; False (and nothing changes) for an uncalibrated (k all 0) or
        implausible one (see `intrinsics_problem`)."""
        if intrinsics_problem([fx, 0, 0, 0, fx, 0, 0, 0, 1], width, height) is not None:
            return False
        self._intrinsics = (float(fx), int(width), int(height))
        return True

    @property
    def intrinsics(self) -> tuple[float, int, int] | None:
        """(fx, width, height) of the CameraInfo in use, None while there is none."""
        return self._intrinsics

    @property
    def camera_fx(self) -> float | None:
        """The focal length taken from a CameraInfo, None while there is none for the current size."""
        return None if self._intrinsics is None else self._intrinsics[0]

    def _focal_length_px(self, width: int, height: int) -> float:
        if self._intrinsics is not None:
            fx, info_width, info_height = self._intrinsics
            if (info_width, info_height) == (width, height):
                return fx
            self._intrinsics = None     # frames of another size: these intrinsics are stale
        return focal_length_px(width, self.settings.hfov_deg)

    # --- frames --------------------------------------------------------------------------------------
    def process(self, rgb: np.ndarray, stamp: float, frame_id: str, started: float | None = None) -> FacesFrame:
        """The tracked faces of one HxWx3 RGB frame taken at `stamp` (seconds). `started`: the timer's
        reading when the frame arrived, so `process_ms` covers its conversion too. ValueError for a bad
        stamp or a frame that cannot be described as a FacesFrame (e.g. a frame_id of 300 characters)."""
        started = self._timer() if started is None else started
        if not (isinstance(stamp, (int, float)) and math.isfinite(stamp) and stamp >= 0):
            raise ValueError(f'stamp must be a finite number of seconds >= 0, got {stamp!r}')
        height, width = rgb.shape[:2]
        if self._idle_skip(stamp):
            self._count('frames_skipped_idle', 1)
            return FacesFrame(stamp=stamp, frame_id=frame_id, width=width, height=height, faces=[])
        detect_started = self._timer()
        detections = self.detector.detect(rgb)
        detect_ms = (self._timer() - detect_started) * 1000.0
        if self._last_detected is not None and not 0.0 <= stamp - self._last_detected <= self.settings.track_gap_s:
            self._restart_tracking()
        self._last_detected = stamp
        invalid_before = self.tracker.invalid_detections
        tracks = self.tracker.update(detections, stamp)
        if self.tracker.invalid_detections > invalid_before:
            self._count('invalid_detections', self.tracker.invalid_detections - invalid_before)
        for gone in self.tracker.dropped:
            self.engagement.forget(gone.id)
        fx = self._focal_length_px(width, height)
        faces = [self._face(track, width, fx, stamp) for track in tracks]
        if self.settings.debug_save_dir:
            for track in tracks:
                if track.confirmed:
                    self._save_crop(rgb, track, stamp)
        self._count('frames_processed', 1)
        process_ms = (self._timer() - started) * 1000.0
        self.last = FacesFrame(stamp=stamp, frame_id=frame_id, width=width, height=height, faces=faces,
                               detect_ms=round(detect_ms, 2), process_ms=round(process_ms, 2))
        return self.last

    def _idle_skip(self, stamp: float) -> bool:
        """True for a frame that may go undetected: nobody tracked and the idle rate already met."""
        if self.settings.idle_detect_hz <= 0 or len(self.tracker) or self._last_detected is None:
            return False
        return 0.0 <= stamp - self._last_detected < 1.0 / self.settings.idle_detect_hz - 1e-6

    def _restart_tracking(self) -> None:
        for track in self.tracker.tracks:
            self.engagement.forget(track.id)
        self.tracker.reset()
        self._count('tracker_resets', 1)

    def _face(self, track: Track, width: int, fx: float, stamp: float) -> TrackedFace:
        w, h = min(track.w, 1.0), min(track.h, 1.0)     # a moved-on box may outgrow the frame
        distance = estimate_distance_m(w * width, fx, self.settings.face_width_m)
        distance = min(max(distance, MIN_DISTANCE_M), MAX_DISTANCE_M)
        facing = facing_score(track.keypoints)
        engaged = track.confirmed and self.engagement.update(track.id, distance, facing, stamp)
        return TrackedFace(id=track.id, x=round(track.x, 4), y=round(track.y, 4), w=round(w, 4),
                           h=round(h, 4), score=round(track.score, 3), distance_m=round(distance, 2),
                           facing=round(facing, 2), confirmed=track.confirmed, engaged=engaged)

    def _save_crop(self, rgb: np.ndarray, track: Track, stamp: float) -> None:
        height, width = rgb.shape[:2]
        x0, y0 = max(0, int(track.x * width)), max(0, int(track.y * height))
        x1, y1 = int((track.x + track.w) * width), int((track.y + track.h) * height)
        crop = rgb[y0:y1, x0:x1]
        if crop.size:
            folder = Path(self.settings.debug_save_dir)
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f'{track.id}_{stamp:.3f}.jpg'), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))

    def close(self) -> None:
        self.detector.close()
