"""Face tracker: synthetic detections for each rule, then real detections over the Hamilton clip."""
import itertools
import math

import cv2
import numpy as np
import pytest

from caexpo_robot.perception.face_detection import FaceDetection, FaceDetector
from caexpo_robot.perception.geometry import iou
from caexpo_robot.perception.tracking import FaceTracker

FPS = 30.0


def face(cx, cy, w, score=0.9):
    return FaceDetection(cx - w / 2, cy - w / 2, w, w, score, ())


def test_confirmed_after_confirm_hits():
    tracker = FaceTracker(confirm_hits=3)
    states = [tracker.update([face(0.5, 0.5, 0.1)], i / FPS)[0] for i in range(4)]
    assert [s.confirmed for s in states] == [False, False, True, True]
    assert [s.hits for s in states] == [1, 2, 3, 4]
    assert len({s.id for s in states}) == 1
    assert states[0].first_seen == 0.0 and states[-1].last_seen == pytest.approx(3 / FPS)


def test_dropped_after_more_than_max_misses():
    tracker = FaceTracker(confirm_hits=1, max_misses=5)
    track_id = tracker.update([face(0.5, 0.5, 0.1)], 0.0)[0].id
    for miss in range(1, 6):
        live = tracker.update([], miss / FPS)
        assert [t.id for t in live] == [track_id] and live[0].misses == miss
        assert tracker.dropped == []
    assert tracker.update([], 6 / FPS) == []
    dropped, = tracker.dropped
    assert dropped.id == track_id and dropped.misses == 6 and dropped.last_seen == 0.0
    assert tracker.update([], 7 / FPS) == [] and tracker.dropped == []  # reported once


def test_a_miss_then_a_match_keeps_the_id_and_resets_misses():
    tracker = FaceTracker(max_misses=2)
    first = tracker.update([face(0.3, 0.3, 0.1)], 0.0)[0].id
    tracker.update([], 0.1)
    tracker.update([], 0.2)
    again, = tracker.update([face(0.31, 0.3, 0.1)], 0.3)
    assert again.id == first and again.misses == 0 and again.hits == 2


def test_two_crossing_faces_keep_their_ids():
    """Two visitors walk past each other at different depths; the far one is hidden (not
    detected) for three frames while the near one passes in front of it."""
    tracker = FaceTracker(confirm_hits=2)
    ids = {}
    hidden = range(18, 21)
    for i in range(40):
        far = face(0.1 + 0.02 * i, 0.40, 0.08)    # walking right
        near = face(0.9 - 0.02 * i, 0.45, 0.14)   # walking left, nearer the camera
        detections = [near] if i in hidden else [far, near]
        for track in tracker.update(detections, i / FPS):
            if track.misses:
                continue
            who = 'far' if abs(track.w - 0.08) < abs(track.w - 0.14) else 'near'
            ids.setdefault(who, set()).add(track.id)
    assert ids['far'] != ids['near']
    assert len(ids['far']) == 1 and len(ids['near']) == 1


def test_fast_approaching_face_keeps_its_id():
    """A face growing 35% per processed frame while its centre drops, with every third frame
    lost: IoU between consecutive detections falls below min_iou, prediction plus the
    centre-distance fallback must keep the id."""
    tracker = FaceTracker(min_iou=0.15)
    boxes, stamp, w, cy = [], 0.0, 0.04, 0.30
    for i in range(12):
        w *= 1.35
        cy += 0.5 * w
        stamp += 1 / 10
        if i % 3 == 2:
            tracker.update([], stamp)
            continue
        boxes.append(face(0.5, min(cy, 0.6), min(w, 0.9)))
        tracker.update([boxes[-1]], stamp)
    consecutive = [iou(*(tuple(getattr(b, k) for k in 'xywh') for b in pair))
                   for pair in itertools.pairwise(boxes)]
    assert min(consecutive) < 0.15  # plain IoU matching alone would have lost it
    live = tracker.tracks
    assert len(live) == 1 and live[0].id == 'f0001' and live[0].hits == len(boxes)


def test_centre_fallback_for_a_jump_without_velocity():
    """Seen once (no velocity yet), then 2.5x bigger and lower: IoU 0.14 < min_iou, yet the
    centres are 0.35 face widths apart, so it is the same face; a face that far away or that
    much bigger is a new one."""
    first, grown = face(0.5, 0.40, 0.08), face(0.5, 0.47, 0.20)
    assert iou((first.x, first.y, first.w, first.h), (grown.x, grown.y, grown.w, grown.h)) < 0.15
    tracker = FaceTracker(min_iou=0.15)
    track_id = tracker.update([first], 0.0)[0].id
    assert [t.id for t in tracker.update([grown], 0.1)] == [track_id]

    for other in (face(0.8, 0.40, 0.08), face(0.5, 0.45, 0.30)):  # 3.75 widths away; 3.75x size
        tracker = FaceTracker(min_iou=0.15)
        tracker.update([first], 0.0)
        assert track_id not in {t.id for t in tracker.update([other], 0.1) if t.misses == 0}


def test_smoothing_damps_jitter():
    smooth, raw = FaceTracker(smoothing=0.5), FaceTracker(smoothing=0.0)
    rng = np.random.default_rng(3)
    smooth_w, raw_w = [], []
    for i in range(100):
        detection = face(0.5, 0.5, 0.1 + rng.normal(0, 0.005))
        smooth_w.append(smooth.update([detection], i / FPS)[0].w)
        raw_w.append(raw.update([detection], i / FPS)[0].w)
    assert np.std(smooth_w[10:]) < 0.8 * np.std(raw_w[10:])
    assert np.mean(smooth_w[10:]) == pytest.approx(0.1, abs=0.002)


def test_smoothed_box_keeps_up_with_a_walking_face():
    tracker = FaceTracker(smoothing=0.5)
    for i in range(30):
        detection = face(0.1 + 0.02 * i, 0.5, 0.1 * 1.02 ** i)  # walking right and nearer
        track, = tracker.update([detection], i / FPS)
    assert abs(track.x - detection.x) < 0.25 * 0.02      # lags less than a quarter frame of motion
    assert abs(track.w - detection.w) / detection.w < 0.005


def test_ids_are_never_reused():
    tracker = FaceTracker(confirm_hits=1, max_misses=0)
    seen = []
    for i in range(300):
        # a new face in a new place each frame; the previous one is dropped at once
        live = tracker.update([face(0.1 + 0.8 * (i % 2), 0.5, 0.05)], float(i))
        seen += [t.id for t in live if t.hits == 1]
        if i == 150:
            tracker.reset()
    assert len(seen) == len(set(seen)) == 300
    assert seen[:2] == ['f0001', 'f0002']


def test_reset_reports_tracks_as_dropped():
    tracker = FaceTracker()
    live = tracker.update([face(0.2, 0.5, 0.1), face(0.7, 0.5, 0.1)], 0.0)
    tracker.reset()
    assert {t.id for t in tracker.dropped} == {t.id for t in live}
    assert tracker.tracks == []


def test_one_detection_per_track():
    tracker = FaceTracker()
    tracker.update([face(0.5, 0.5, 0.2)], 0.0)
    live = tracker.update([face(0.5, 0.5, 0.2), face(0.52, 0.5, 0.2)], 1 / FPS)
    assert len(live) == 2 and len({t.id for t in live}) == 2


def test_bad_detections_are_counted_not_fatal():
    tracker = FaceTracker()
    live = tracker.update([face(math.nan, 0.5, 0.1), FaceDetection(0.1, 0.1, 0.0, 0.1, 0.9),
                           face(0.5, 0.5, 0.1)], 0.0)
    assert len(live) == 1 and tracker.invalid_detections == 2
    with pytest.raises(ValueError, match='stamp'):
        tracker.update([], math.inf)
    with pytest.raises(ValueError, match='smoothing'):
        FaceTracker(smoothing=1.0)
    with pytest.raises(ValueError, match='confirm_hits'):
        FaceTracker(confirm_hits=0)


def test_returned_tracks_are_copies():
    tracker = FaceTracker()
    track, = tracker.update([face(0.5, 0.5, 0.1)], 0.0)
    track.x = 99.0
    assert tracker.tracks[0].x != 99.0


# --- the real clip -----------------------------------------------------------------------------
# Shot cuts found by the mean frame difference at 64x36: 28-30 grey levels at a cut, at most 14
# inside a shot; a tracker cannot (and should not) follow identities across a cut, so the test
# resets it there, as a node does when the camera stream restarts.
CUT_THRESHOLD = 20.0
SHOT_CUTS = [20, 82, 211]


@pytest.fixture(scope='module')
def clip(shared_data):
    capture = cv2.VideoCapture(str(shared_data / 'faces' / 'short_hamilton_clip.mp4'))
    frames = []
    while True:
        ok, bgr = capture.read()
        if not ok:
            break
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    capture.release()
    assert len(frames) == 275 and frames[0].shape == (360, 640, 3)
    with FaceDetector() as detector:
        detections = [detector.detect(f) for f in frames]
    small = [cv2.resize(f, (64, 36)).astype(np.float32) for f in frames]
    differences = [float(np.abs(a - b).mean()) for a, b in itertools.pairwise(small)]
    cuts = [i + 1 for i, d in enumerate(differences) if d > CUT_THRESHOLD]
    return detections, cuts


def test_clip_per_frame_face_counts(clip):
    detections, cuts = clip
    assert cuts == SHOT_CUTS
    counts = [len(d) for d in detections]
    assert max(counts) <= 4
    assert sum(c == 0 for c in counts) <= 10            # measured 6 (dark shot-change frames)
    assert sum(c >= 1 for c in counts) >= 0.95 * len(counts)
    assert all(c == 1 for c in counts[SHOT_CUTS[1]:SHOT_CUTS[2]])  # the performer alone, 129 frames
    assert all(2 <= c <= 4 for c in counts[SHOT_CUTS[2] + 1:])     # the audience, 4 people


def test_clip_tracker_keeps_stable_ids(clip):
    detections, cuts = clip
    tracker = FaceTracker()
    seen = {}  # confirmed id -> frames where it was matched
    for index, faces in enumerate(detections):
        if index in cuts:
            tracker.reset()
        for track in tracker.update(faces, index / FPS):
            if track.confirmed and track.misses == 0:
                seen.setdefault(track.id, []).append(index)
    bounds = [0] + cuts + [len(detections)]
    per_shot = [[i for i, frames in seen.items() if bounds[s] <= frames[0] < bounds[s + 1]]
                for s in range(4)]
    # shot 1 and 3: one performer -> one id, held across the whole shot
    for shot in (0, 2):
        track_id, = per_shot[shot]
        length = bounds[shot + 1] - bounds[shot]
        assert len(seen[track_id]) >= 0.85 * length
    assert seen[per_shot[2][0]][0] == SHOT_CUTS[1] + 2  # confirmed on its 3rd frame
    # shot 4: four audience members; measured exactly 4 ids (one woman is lost for 28 frames
    # and comes back unconfirmed at the end); allow one re-acquisition more
    assert 4 <= len(per_shot[3]) <= 5
    # shot 2: a panning, out-of-focus dark audience, detections flicker at scores 0.60-0.76:
    # measured 7 ids, of which one holds the whole shot
    assert len(per_shot[1]) <= 8
    assert max(len(seen[i]) for i in per_shot[1]) >= 45
    assert len(seen) <= 15  # measured 13 over the clip
