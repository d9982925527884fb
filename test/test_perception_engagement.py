"""Distance, facing and engagement hysteresis; facing and distance also from real detections."""
import itertools
import math

import cv2
import numpy as np
import pytest

from caexpo_robot.perception.engagement import EngagementEstimator, estimate_distance_m, facing_score, focal_length_px
from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.perception.image import load_image_file


@pytest.fixture(scope='module')
def detector():
    with FaceDetector() as face_detector:
        yield face_detector


def test_focal_length_and_distance():
    assert focal_length_px(640, 90.0) == pytest.approx(320.0)
    assert focal_length_px(1280, 60.0) == pytest.approx(640 / math.tan(math.radians(30)))
    assert estimate_distance_m(80, 320.0) == pytest.approx(0.64)
    assert estimate_distance_m(40, 320.0) == pytest.approx(1.28)  # half the width, twice as far
    assert estimate_distance_m(80, 320.0, face_width_m=0.20) == pytest.approx(0.8)
    for bad in (lambda: focal_length_px(0, 60), lambda: focal_length_px(640, 180),
                lambda: estimate_distance_m(0, 320), lambda: estimate_distance_m(math.nan, 320),
                lambda: estimate_distance_m(50, -1)):
        with pytest.raises(ValueError):
            bad()


def test_distance_from_real_detections_scales_with_the_image(detector, shared_data):
    """The detector's box is consistent in scale: the same portrait at half size reads as
    twice as far (within 10%)."""
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    half = cv2.resize(photo, (photo.shape[1] // 2, photo.shape[0] // 2), interpolation=cv2.INTER_AREA)
    canvas = np.zeros_like(photo)  # same frame size (same focal length), smaller face
    canvas[:half.shape[0], :half.shape[1]] = half
    focal = focal_length_px(photo.shape[1], 60.0)
    near, = detector.detect(photo)
    far, = detector.detect(canvas)
    ratio = (estimate_distance_m(far.w * photo.shape[1], focal)
             / estimate_distance_m(near.w * photo.shape[1], focal))
    assert ratio == pytest.approx(2.0, rel=0.10)


def test_facing_from_synthetic_keypoints():
    frontal = ((0.40, 0.4), (0.60, 0.4), (0.50, 0.5), (0.50, 0.6), (0.30, 0.45), (0.70, 0.45))
    assert facing_score(frontal) == pytest.approx(1.0)
    turned = ((0.40, 0.4), (0.56, 0.4), (0.52, 0.5), (0.50, 0.6), (0.30, 0.45), (0.62, 0.45))
    profile = ((0.50, 0.4), (0.50, 0.4), (0.62, 0.5), (0.55, 0.6), (0.35, 0.45), (0.60, 0.45))
    assert 0.0 <= facing_score(profile) < facing_score(turned) < facing_score(frontal)
    assert facing_score(profile) < 0.2 and 0.6 < facing_score(turned) < 0.8
    assert facing_score(()) == facing_score(None) == 0.5      # unknown
    assert facing_score(frontal[:3]) == pytest.approx(1.0)    # nose term only
    with pytest.raises(ValueError):
        facing_score(((0.4, 0.4), (math.nan, 0.4), (0.5, 0.5)))


def test_facing_on_real_faces(detector, shared_data):
    for name in ('obama.jpg', 'obama_small.jpg', 'obama-240p.jpg'):
        face, = detector.detect(load_image_file(shared_data / 'faces' / name))
        assert facing_score(face.keypoints) >= 0.85, name


def test_facing_is_low_for_real_turned_heads(detector, shared_data):
    """Hamilton clip frame 216: three audience members watch the stage, heads turned about
    45-60 degrees away from the camera (nose 0.7-0.9 eye distances off the eye midpoint)."""
    capture = cv2.VideoCapture(str(shared_data / 'faces' / 'short_hamilton_clip.mp4'))
    capture.set(cv2.CAP_PROP_POS_FRAMES, 216)
    ok, bgr = capture.read()
    capture.release()
    assert ok
    faces = detector.detect(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert len(faces) == 3
    assert all(facing_score(f.keypoints) < 0.35 for f in faces)


def test_facing_ignores_a_horizontal_squeeze(detector, shared_data):
    """Honest limit: squeezing the image keeps ratios along x, so a squeezed frontal face still
    reads frontal (only real head rotation moves the nose off the eye midpoint)."""
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    squeezed = cv2.resize(photo, (photo.shape[1] // 2, photo.shape[0]))
    face, = detector.detect(squeezed)
    assert facing_score(face.keypoints) >= 0.8


def run(estimator, samples, track='f0001', dt=0.05):
    """Feeds (distance, facing) samples at 20 Hz; returns the engaged flag after each."""
    return [estimator.update(track, d, f, i * dt) for i, (d, f) in enumerate(samples)]


def transitions(flags):
    return sum(a != b for a, b in itertools.pairwise(flags))


def test_engages_after_dwell_and_does_not_flap_at_the_threshold():
    estimator = EngagementEstimator()
    rng = np.random.default_rng(1)
    approach = [(3.0 - 0.05 * i, 0.9) for i in range(27)]              # 3.0 m -> 1.7 m in 1.3 s
    hover = [(2.0 + rng.normal(0, 0.15), 0.9) for _ in range(100)]     # jitter around 2 m for 5 s
    leave = [(2.0 + 0.1 * i, 0.9) for i in range(30)]                  # walks off to 5 m
    flags = run(estimator, approach + hover + leave)
    assert transitions(flags) == 2
    engaged_at = flags.index(True)
    assert engaged_at == 20 + 4  # first sample at <= 2 m is index 20, then 0.2 s of dwell
    assert all(flags[engaged_at:len(approach) + len(hover)])
    left_at = flags.index(False, engaged_at)
    assert left_at == len(approach) + len(hover) + 7 + 20  # first beyond 2.6 m (2.7), then 1 s
    assert flags[-1] is False


def test_hovering_at_the_engage_distance_switches_at_most_once():
    for seed in range(20):
        rng = np.random.default_rng(seed)
        flags = run(EngagementEstimator(), [(2.0 + rng.normal(0, 0.05), 0.9) for _ in range(200)])
        assert transitions(flags) <= 1


def test_a_brief_look_away_does_not_disengage():
    estimator = EngagementEstimator(disengage_after_s=1.0)
    flags = run(estimator, [(1.5, 0.9)] * 10 + [(1.5, 0.1)] * 15 + [(1.5, 0.9)] * 10)
    assert flags[9] and all(flags[9:])          # 0.75 s looking away: still engaged
    flags = run(EngagementEstimator(), [(1.5, 0.9)] * 10 + [(1.5, 0.1)] * 30)
    assert flags[-1] is False and transitions(flags) == 2


def test_never_engages_when_turned_away_or_too_far():
    assert not any(run(EngagementEstimator(), [(1.0, 0.2)] * 100))
    assert not any(run(EngagementEstimator(), [(2.3, 1.0)] * 100))  # inside the band: not yet
    assert not any(run(EngagementEstimator(), [(math.inf, 0.5)] * 10))  # unknown distance


def test_per_track_state_and_forget():
    estimator = EngagementEstimator(engage_after_s=0.0)
    assert estimator.update('a', 1.0, 0.9, 0.0) is True
    assert estimator.update('b', 3.0, 0.9, 0.0) is False
    assert estimator.engaged('a') and not estimator.engaged('b')
    estimator.forget('a')
    estimator.forget('never-seen')
    assert not estimator.engaged('a')


def test_stamps_going_back_restart_the_dwell():
    estimator = EngagementEstimator(engage_after_s=0.2)
    assert estimator.update('a', 1.0, 0.9, 10.0) is False
    assert estimator.update('a', 1.0, 0.9, 0.05) is False  # sim time reset
    assert estimator.update('a', 1.0, 0.9, 0.30) is True


def test_bad_arguments():
    with pytest.raises(ValueError, match='flaps'):
        EngagementEstimator(engage_distance_m=2.0, disengage_distance_m=1.5)
    with pytest.raises(ValueError):
        EngagementEstimator(min_facing=1.5)
    estimator = EngagementEstimator()
    with pytest.raises(ValueError, match='distance'):
        estimator.update('a', math.nan, 0.9, 0.0)
    with pytest.raises(ValueError, match='facing'):
        estimator.update('a', 1.0, 1.2, 0.0)
