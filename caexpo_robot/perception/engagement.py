"""Is a tracked visitor engaging with the robot? Distance from face size, facing from keypoints,
and a hysteresis (a distance band plus dwell times) so the decision does not flap at a threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

UNKNOWN_FACING = 0.5
# Nose offset from the eye midpoint, in eye distances, at which the nose term reaches 0: measured
# about 0 to 0.2 on frontal faces and 0.7 to 1.9 on heads turned away (docs/perception.md).
PROFILE_NOSE_OFFSET = 1.0
NOSE_WEIGHT = 0.7  # the ears are the less reliable keypoints (often guessed when hidden)


def focal_length_px(image_width_px: int, hfov_deg: float) -> float:
    """Pinhole focal length in pixels from the image width and horizontal field of view."""
    if not image_width_px > 0:
        raise ValueError(f'image width must be positive, got {image_width_px}')
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f'horizontal field of view must be in (0, 180) degrees, got {hfov_deg}')
    return (image_width_px / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)


def estimate_distance_m(face_width_px: float, focal_px: float, face_width_m: float = 0.16) -> float:
    """Camera-to-face distance by similar triangles; face_width_m is the real width the box spans."""
    if not (math.isfinite(face_width_px) and face_width_px > 0):
        raise ValueError(f'face width must be a positive number of pixels, got {face_width_px}')
    if not (math.isfinite(focal_px) and focal_px > 0):
        raise ValueError(f'focal length must be positive, got {focal_px}')
    if not (math.isfinite(face_width_m) and face_width_m > 0):
        raise ValueError(f'real face width must be positive, got {face_width_m}')
    return focal_px * face_width_m / face_width_px


def facing_score(keypoints) -> float:
    """1.0 for a face looking at the camera, falling to 0.0 for a profile; 0.5 when unknown.

    Uses mediapipe's keypoints (right eye, left eye, nose tip, mouth, right ear, left ear): how far
    the nose sits from the eye midpoint relative to the eye distance and, when the ears are
    there, how unevenly the ears sit around the nose. Only x coordinates are compared, so the
    score does not depend on the image aspect ratio. Fewer than 3 keypoints -> 0.5 (unknown).
    """
    points = tuple(keypoints or ())
    if len(points) < 3:
        return UNKNOWN_FACING
    try:
        xs = [float(p[0]) for p in points[:6]]
    except (TypeError, ValueError, IndexError) as error:
        raise ValueError(f'keypoints must be (x, y) pairs, got {points!r}') from error
    if not all(math.isfinite(x) for x in xs):
        raise ValueError(f'keypoints must be finite, got {points!r}')
    right_eye, left_eye, nose = xs[0], xs[1], xs[2]
    eye_distance = abs(left_eye - right_eye)
    if eye_distance < 1e-6:
        nose_term = 0.0  # both eyes on one spot: seen side-on
    else:
        offset = abs(nose - (right_eye + left_eye) / 2.0) / eye_distance
        nose_term = max(0.0, 1.0 - offset / PROFILE_NOSE_OFFSET)
    if len(xs) < 6:
        return nose_term
    to_right, to_left = abs(nose - xs[4]), abs(xs[5] - nose)
    span = to_right + to_left
    ear_term = 0.0 if span < 1e-6 else 1.0 - abs(to_right - to_left) / span
    return NOSE_WEIGHT * nose_term + (1.0 - NOSE_WEIGHT) * ear_term


@dataclass
class _State:
    engaged: bool = False
    since: float | None = None  # when the condition for switching started to hold


class EngagementEstimator:
    """Per-track engagement with hysteresis.

    Engages once a face is within engage_distance_m and facing >= min_facing for engage_after_s;
    disengages once it is beyond disengage_distance_m or facing < min_facing for
    disengage_after_s. Stamps are seconds (sim or wall time), passed in.
    """

    def __init__(self, engage_distance_m: float = 2.0, disengage_distance_m: float = 2.6,
                 min_facing: float = 0.5, engage_after_s: float = 0.2,
                 disengage_after_s: float = 1.0):
        if not engage_distance_m > 0:
            raise ValueError(f'engage_distance_m must be positive, got {engage_distance_m}')
        if not disengage_distance_m >= engage_distance_m:
            raise ValueError(f'disengage_distance_m ({disengage_distance_m}) must be >= '
                             f'engage_distance_m ({engage_distance_m}) or the state flaps')
        if not 0.0 <= min_facing <= 1.0:
            raise ValueError(f'min_facing must be in [0, 1], got {min_facing}')
        if engage_after_s < 0 or disengage_after_s < 0:
            raise ValueError('engage_after_s and disengage_after_s must be >= 0')
        self.engage_distance_m = engage_distance_m
        self.disengage_distance_m = disengage_distance_m
        self.min_facing = min_facing
        self.engage_after_s = engage_after_s
        self.disengage_after_s = disengage_after_s
        self._states: dict[str, _State] = {}

    def update(self, track_id: str, distance_m: float, facing: float, stamp: float) -> bool:
        """Feed one observation of a track; returns whether it is engaged now."""
        if math.isnan(distance_m) or distance_m < 0:
            raise ValueError(f'distance must be >= 0 metres (inf for unknown), got {distance_m}')
        if not (math.isfinite(facing) and 0.0 <= facing <= 1.0):
            raise ValueError(f'facing must be in [0, 1], got {facing}')
        if not math.isfinite(stamp):
            raise ValueError(f'stamp must be finite, got {stamp}')
        state = self._states.setdefault(track_id, _State())
        if state.engaged:
            switching = distance_m > self.disengage_distance_m or facing < self.min_facing
            delay = self.disengage_after_s
        else:
            switching = distance_m <= self.engage_distance_m and facing >= self.min_facing
            delay = self.engage_after_s
        if not switching:
            state.since = None
            return state.engaged
        if state.since is None or stamp < state.since:  # stamps going back (sim reset): restart
            state.since = stamp
        if stamp - state.since >= delay:
            state.engaged = not state.engaged
            state.since = None
        return state.engaged

    def engaged(self, track_id: str) -> bool:
        state = self._states.get(track_id)
        return state is not None and state.engaged

    def forget(self, track_id: str) -> None:
        """Drop a track's state (call for the tracker's dropped tracks)."""
        self._states.pop(track_id, None)
