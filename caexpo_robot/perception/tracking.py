"""Frame-to-frame face tracking: stable ids for the detections of one camera.

Association is greedy: first by IoU of each track's predicted box (its last detection moved on
at a damped velocity) with each detection, then, for what is left, by centre distance relative
to the face size — a visitor walking towards the robot grows fast enough between frames (or
over a few missed frames) for IoU to fall below the floor. The published box is exponentially
smoothed (after moving it on by the same velocity, so a walking face does not lag behind) so
distance estimates do not jitter.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from caexpo_robot.perception.face_detection import FaceDetection
from caexpo_robot.perception.geometry import centre_distance, iou

# Centre-distance fallback: centres closer than this many face widths (the larger of the two
# boxes) and sizes within this ratio count as the same face.
MAX_CENTRE_DISTANCE = 0.75
MAX_SIZE_RATIO = 3.0
# Weight of the previous velocity estimate; detections jitter by a few pixels per frame.
VELOCITY_DAMPING = 0.5
# Beyond this gap a constant-velocity guess is worse than the last position.
MAX_PREDICTION_S = 0.5


@dataclass
class Track:
    id: str
    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: tuple
    confirmed: bool
    hits: int       # matched frames in total
    misses: int     # consecutive frames without a match
    first_seen: float
    last_seen: float



class _Motion:
    """Last detected box of a track and its damped velocity (centre per second, log size per
    second), to predict where the face is now — a face walking across or towards the camera
    has moved by the time it is detected again."""

    def __init__(self, box: tuple[float, float, float, float], stamp: float):
        self.box = box
        self.stamp = stamp
        self.velocity = (0.0, 0.0, 0.0)
        self.observations = 1

    def predict(self, stamp: float, box: tuple[float, float, float, float] | None = None
                ) -> tuple[float, float, float, float]:
        """`box` (default: the last detection) moved on from the last detection's stamp."""
        x, y, w, h = self.box if box is None else box
        dt = min(max(stamp - self.stamp, 0.0), MAX_PREDICTION_S)
        if dt == 0.0:
            return x, y, w, h
        vx, vy, vs = self.velocity
        scale = math.exp(vs * dt)
        cx, cy = x + w / 2 + vx * dt, y + h / 2 + vy * dt
        return cx - w * scale / 2, cy - h * scale / 2, w * scale, h * scale

    def observe(self, box: tuple[float, float, float, float], stamp: float) -> None:
        dt = stamp - self.stamp
        if dt > 0:
            (x0, y0, w0, h0), (x1, y1, w1, h1) = self.box, box
            measured = (((x1 + w1 / 2) - (x0 + w0 / 2)) / dt, ((y1 + h1 / 2) - (y0 + h0 / 2)) / dt,
                        math.log(w1 / w0) / dt)
            if self.observations == 1:
                self.velocity = measured
            else:
                self.velocity = tuple(VELOCITY_DAMPING * old + (1 - VELOCITY_DAMPING) * new
                                      for old, new in zip(self.velocity, measured, strict=True))
        self.box = box
        self.stamp = stamp
        self.observations += 1


def _valid(d: FaceDetection) -> bool:
    values = (d.x, d.y, d.w, d.h, d.score)
    return all(isinstance(v, (int, float)) and math.isfinite(v) for v in values) and d.w > 0 and d.h > 0


class FaceTracker:
    """Tracks for one camera; update() once per processed frame, in stamp order."""

    def __init__(self, confirm_hits: int = 3, max_misses: int = 5, min_iou: float = 0.15,
                 smoothing: float = 0.5):
        if confirm_hits < 1:
            raise ValueError(f'confirm_hits must be >= 1, got {confirm_hits}')
        if max_misses < 0:
            raise ValueError(f'max_misses must be >= 0, got {max_misses}')
        if not 0.0 < min_iou <= 1.0:
            raise ValueError(f'min_iou must be in (0, 1], got {min_iou}')
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f'smoothing must be in [0, 1), got {smoothing}')
        self.confirm_hits = confirm_hits
        self.max_misses = max_misses
        self.min_iou = min_iou
        self.smoothing = smoothing  # weight of the previous box; 0 = raw detections
        self._tracks: list[Track] = []
        self._motion: dict[str, _Motion] = {}
        self._dropped: list[Track] = []
        self._next_id = 1
        self.invalid_detections = 0  # detections with non-finite or empty boxes, skipped

    @property
    def tracks(self) -> list[Track]:
        return [replace(t) for t in self._tracks]

    def __len__(self) -> int:
        """Live tracks, without copying them (asked on every frame)."""
        return len(self._tracks)

    @property
    def dropped(self) -> list[Track]:
        """Tracks removed by the last update (more than max_misses consecutive misses)."""
        return [replace(t) for t in self._dropped]

    def reset(self) -> None:
        """Forget every track (camera switched, stream restarted); they show up in `dropped`.
        Ids keep counting, so an id is never reused."""
        self._dropped = self._tracks
        self._tracks = []
        self._motion.clear()

    def update(self, detections: list[FaceDetection], stamp: float) -> list[Track]:
        """Associate one frame's detections; returns copies of all live tracks (confirmed or not)."""
        if not (isinstance(stamp, (int, float)) and math.isfinite(stamp)):
            raise ValueError(f'stamp must be a finite number of seconds, got {stamp!r}')
        good = [d for d in detections if _valid(d)]
        self.invalid_detections += len(detections) - len(good)
        boxes = [(d.x, d.y, d.w, d.h) for d in good]

        predicted = [self._motion[t.id].predict(stamp) for t in self._tracks]
        matches: dict[int, int] = {}  # track index -> detection index
        pairs = []
        for ti, expected in enumerate(predicted):
            for di, box in enumerate(boxes):
                overlap = iou(expected, box)
                if overlap >= self.min_iou:
                    pairs.append((-overlap, ti, di))
        self._greedy(pairs, matches)
        pairs = []
        taken = set(matches.values())
        for ti, expected in enumerate(predicted):
            if ti in matches:
                continue
            for di, box in enumerate(boxes):
                if di in taken:
                    continue
                ratio = max(expected[2], box[2]) / min(expected[2], box[2])
                distance = centre_distance(expected, box)
                if distance <= MAX_CENTRE_DISTANCE and ratio <= MAX_SIZE_RATIO:
                    pairs.append((distance, ti, di))
        self._greedy(pairs, matches)

        live, self._dropped = [], []
        for ti, track in enumerate(self._tracks):
            if ti in matches:
                self._absorb(track, good[matches[ti]], stamp)
                live.append(track)
            else:
                track.misses += 1
                if track.misses > self.max_misses:
                    self._dropped.append(track)
                    del self._motion[track.id]
                else:
                    live.append(track)
        taken = set(matches.values())
        for di, detection in enumerate(good):
            if di not in taken:
                live.append(self._start(detection, stamp))
        self._tracks = live
        return self.tracks

    @staticmethod
    def _greedy(pairs: list, matches: dict[int, int]) -> None:
        used = set(matches.values())
        for _, ti, di in sorted(pairs):
            if ti not in matches and di not in used:
                matches[ti] = di
                used.add(di)

    def _absorb(self, track: Track, d: FaceDetection, stamp: float) -> None:
        a = self.smoothing
        motion = self._motion[track.id]
        px, py, pw, ph = motion.predict(stamp, (track.x, track.y, track.w, track.h))
        track.x = a * px + (1 - a) * d.x
        track.y = a * py + (1 - a) * d.y
        track.w = a * pw + (1 - a) * d.w
        track.h = a * ph + (1 - a) * d.h
        track.score = d.score
        track.keypoints = d.keypoints
        track.hits += 1
        track.misses = 0
        track.last_seen = stamp
        track.confirmed = track.confirmed or track.hits >= self.confirm_hits
        motion.observe((d.x, d.y, d.w, d.h), stamp)

    def _start(self, d: FaceDetection, stamp: float) -> Track:
        track_id = f'f{self._next_id:04d}'
        self._next_id += 1
        self._motion[track_id] = _Motion((d.x, d.y, d.w, d.h), stamp)
        return Track(track_id, d.x, d.y, d.w, d.h, d.score, d.keypoints,
                           confirmed=self.confirm_hits <= 1, hits=1, misses=0,
                           first_seen=stamp, last_seen=stamp)
