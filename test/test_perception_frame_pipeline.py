"""The frame pipeline without rclpy: scripted detections on an injected stamp sequence, then the real
mediapipe detector on real photos."""
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from caexpo_robot.messages import FacesFrame
from caexpo_robot.perception.engagement import focal_length_px
from caexpo_robot.perception.face_detection import FaceDetection, FaceDetector
from caexpo_robot.perception.frame_pipeline import FramePipeline, FrameSettings
from caexpo_robot.perception.image import load_image_file

SETTINGS = FrameSettings(confirm_hits=3, max_misses=8, engage_distance_m=2.0, disengage_distance_m=2.6,
                         min_facing=0.5, engage_after_s=0.2, disengage_after_s=1.0, track_gap_s=2.0,
                         face_width_m=0.16, hfov_deg=60.0, idle_detect_hz=5.0, debug_save_dir='')
FRAME = np.zeros((480, 640, 3), np.uint8)
FRONTAL = ((0.45, 0.45), (0.55, 0.45), (0.5, 0.5), (0.5, 0.55), (0.4, 0.47), (0.6, 0.47))
PROFILE = ((0.45, 0.45), (0.47, 0.45), (0.6, 0.5))


def width_at(distance_m, width_px=640, hfov_deg=60.0, face_width_m=0.16):
    """Normalised box width of a face at `distance_m` (the inverse of the pipeline's estimate)."""
    return focal_length_px(width_px, hfov_deg) * face_width_m / distance_m / width_px


def face_at(distance_m, cx=0.5, keypoints=FRONTAL, score=0.9):
    w = width_at(distance_m)
    return FaceDetection(cx - w / 2, 0.3, w, w * 4 / 3, score, keypoints)


class ScriptedDetector:
    """Returns what the test puts in `faces` for every frame it is asked about; counts the calls."""

    def __init__(self, faces=()):
        self.faces, self.calls, self.closed = list(faces), 0, False

    def detect(self, rgb):
        self.calls += 1
        return list(self.faces)

    def close(self):
        self.closed = True


class StepTimer:
    """A timer that advances `step` seconds per reading: timing figures without wall time."""

    def __init__(self, step=0.001):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def pipeline(faces=(), **overrides):
    detector = ScriptedDetector(faces)
    return FramePipeline(detector, replace(SETTINGS, **overrides), timer=StepTimer()), detector


def test_the_core_does_not_import_rclpy():
    code = 'import sys, caexpo_robot.perception.frame_pipeline; print("rclpy" in sys.modules)'
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == 'False', result.stderr


def test_an_empty_entrance_is_detected_at_the_idle_rate_and_a_visitor_at_every_frame():
    core, detector = pipeline()
    frames = [core.process(FRAME, 10.0 + k / 30, 'cam') for k in range(30)]   # 1 s at 30 fps, nobody
    assert detector.calls == 5 and core.counters['frames_skipped_idle'] == 25
    assert core.counters['frames_processed'] == 5
    assert all(isinstance(f, FacesFrame) and f.faces == [] for f in frames)
    assert [f.detect_ms is not None for f in frames[:7]] == [True] + [False] * 5 + [True]
    detector.faces = [face_at(1.5)]
    calls = detector.calls
    for k in range(30, 40):                    # a visitor appears: seen within 1/5 s, then every frame
        core.process(FRAME, 10.0 + k / 30, 'cam')
    assert detector.calls - calls == 10 and core.counters['frames_skipped_idle'] == 25
    detector.faces = []                        # gone: detected at every frame until the track is dropped
    for k in range(40, 49):
        assert core.process(FRAME, 10.0 + k / 30, 'cam').detect_ms is not None
    assert core.counters['frames_skipped_idle'] == 25 and len(core.tracker) == 0   # 9 misses > max_misses 8
    assert core.process(FRAME, 10.0 + 49 / 30, 'cam').detect_ms is None            # idle again


def test_idle_rate_zero_detects_every_frame():
    core, detector = pipeline(idle_detect_hz=0.0)
    for k in range(10):
        core.process(FRAME, k / 30, 'cam')
    assert detector.calls == 10 and core.counters['frames_skipped_idle'] == 0


def test_a_face_is_confirmed_after_confirm_hits_with_one_id():
    core, _ = pipeline([face_at(3.0)], confirm_hits=3)
    frames = [core.process(FRAME, k / 15, 'cam') for k in range(4)]
    assert [[f.confirmed for f in frame.faces] for frame in frames] == [[False], [False], [True], [True]]
    assert len({frame.faces[0].id for frame in frames}) == 1
    assert frames[-1].faces[0].distance_m == pytest.approx(3.0, rel=0.02)
    assert frames[-1].faces[0].facing > 0.8
    assert frames[-1].detect_ms == pytest.approx(1.0) and frames[-1].process_ms > frames[-1].detect_ms


def test_engages_after_the_dwell_and_disengages_with_hysteresis():
    core, detector = pipeline([face_at(1.8)])
    engaged = []
    t = 0.0
    for _ in range(10):                                     # near and facing: engaged once 0.2 s held
        engaged.append((t, core.process(FRAME, t, 'cam').faces[0].engaged))
        t += 1 / 15
    first = next(stamp for stamp, is_engaged in engaged if is_engaged)
    confirmed_at = 2 / 15                                   # the 3rd frame confirms; dwell starts there
    assert first == pytest.approx(confirmed_at + 0.2, abs=1 / 15 + 1e-9)
    detector.faces = [face_at(2.4)]                         # inside the band: stays engaged
    for _ in range(30):
        assert core.process(FRAME, t, 'cam').faces[0].engaged
        t += 1 / 15
    detector.faces = [face_at(3.0)]                         # beyond 2.6 m: disengaged after 1 s
    left_at, states = t, []
    for _ in range(20):
        states.append((t, core.process(FRAME, t, 'cam').faces[0].engaged))
        t += 1 / 15
    off = next(stamp for stamp, is_engaged in states if not is_engaged)
    assert off - left_at == pytest.approx(1.0, abs=1 / 15 + 1e-9)


def test_a_face_turned_away_never_engages():
    core, _ = pipeline([face_at(1.0, keypoints=PROFILE)])
    frames = [core.process(FRAME, k / 15, 'cam') for k in range(30)]
    assert frames[-1].faces[0].confirmed and frames[-1].faces[0].facing < 0.5
    assert not any(face.engaged for frame in frames for face in frame.faces)


def test_time_going_back_or_a_long_gap_restarts_tracking_with_new_ids():
    core, _ = pipeline([face_at(1.5)])
    for k in range(8):
        before = core.process(FRAME, 100.0 + k / 15, 'cam')
    assert before.faces[0].confirmed and before.faces[0].engaged
    after = core.process(FRAME, 50.0, 'cam')                # the simulation restarted
    assert core.counters['tracker_resets'] == 1
    assert after.faces[0].id != before.faces[0].id and not after.faces[0].confirmed
    assert not after.faces[0].engaged                       # engagement state went with the old id
    for k in range(1, 3):
        core.process(FRAME, 50.0 + k / 15, 'cam')
    core.process(FRAME, 50.0 + 2 / 15 + 1.9, 'cam')         # a gap under track_gap_s keeps the ids
    assert core.counters['tracker_resets'] == 1
    later = core.process(FRAME, 60.0, 'cam')                # a gap over it does not
    assert core.counters['tracker_resets'] == 2 and later.faces[0].id not in {before.faces[0].id, after.faces[0].id}


def test_camera_intrinsics_apply_only_to_frames_of_their_size():
    core, _ = pipeline([face_at(2.0)])
    assert core.camera_fx is None
    assert not core.use_camera_info(0.0, 640, 480)          # an uncalibrated CameraInfo (k all zero)
    assert not core.use_camera_info(math.nan, 640, 480) and core.camera_fx is None
    fx_30_deg = focal_length_px(640, 30.0)
    assert core.use_camera_info(fx_30_deg, 640, 480)
    narrow = core.process(FRAME, 0.0, 'cam').faces[0].distance_m
    assert core.camera_fx == fx_30_deg
    # The same normalised box in a 320x240 frame: the 640x480 intrinsics are stale and must not be used.
    wide = core.process(np.zeros((240, 320, 3), np.uint8), 1 / 15, 'cam').faces[0].distance_m
    assert core.camera_fx is None
    assert wide == pytest.approx(2.0, rel=0.02)             # from hfov_deg (60°), as if no CameraInfo came
    assert narrow / wide == pytest.approx(math.tan(math.radians(30)) / math.tan(math.radians(15)), rel=0.02)


def test_boxes_outside_what_a_message_may_carry_are_clamped_not_refused():
    huge = FaceDetection(-0.2, -0.1, 1.0, 1.0, 0.9, FRONTAL)  # a face filling the frame, cut at the edge
    speck = FaceDetection(0.1, 0.1, 1e-6, 1e-6, 0.9, ())      # far beyond the 1000 m a message allows
    core, _ = pipeline([huge, speck], hfov_deg=170.0)
    frame = core.process(FRAME, 0.0, 'cam')
    assert {f.distance_m for f in frame.faces} == {0.01, 1000.0}
    assert min(f.x for f in frame.faces) == -0.2


def test_invalid_detections_are_counted_and_bad_stamps_or_frame_ids_are_refused():
    core, _ = pipeline([face_at(2.0), FaceDetection(math.nan, 0.1, 0.1, 0.1, 0.9)])
    assert len(core.process(FRAME, 0.0, 'cam').faces) == 1
    assert core.counters['invalid_detections'] == 1
    for stamp in (math.nan, -1.0, math.inf):
        with pytest.raises(ValueError, match='stamp'):
            core.process(FRAME, stamp, 'cam')
    with pytest.raises(ValueError, match='frame_id'):
        core.process(FRAME, 1.0, 'x' * 300)


def test_settings_are_checked():
    for field, value in (('track_gap_s', 0.0), ('face_width_m', -0.1), ('hfov_deg', 180.0),
                         ('idle_detect_hz', -1.0)):
        with pytest.raises(ValueError, match=field):
            replace(SETTINGS, **{field: value})


def test_debug_crops_are_written_only_when_configured(tmp_path):
    photo = np.random.default_rng(1).integers(0, 256, (480, 640, 3), np.uint8)
    core, _ = pipeline([face_at(1.5)])
    for k in range(5):
        core.process(photo, k / 15, 'cam')
    assert not any(tmp_path.iterdir())
    crops = tmp_path / 'crops'
    core, _ = pipeline([face_at(1.5)], debug_save_dir=str(crops), confirm_hits=3)
    for k in range(5):
        core.process(photo, k / 15, 'cam')
    written = sorted(path.name for path in crops.iterdir())
    assert len(written) == 3 and all(name.startswith('f0001_') for name in written)   # confirmed frames only


def test_counts_go_to_the_given_counter_and_close_closes_the_detector():
    seen = []
    detector = ScriptedDetector()
    core = FramePipeline(detector, SETTINGS, count=lambda key, n: seen.append((key, n)))
    core.process(FRAME, 0.0, 'cam')
    core.process(FRAME, 0.01, 'cam')
    assert seen == [('frames_processed', 1), ('frames_skipped_idle', 1)]
    core.close()
    assert detector.closed


@pytest.fixture(scope='module')
def mediapipe_detector():
    with FaceDetector(model='full', min_score=0.5) as detector:
        yield detector


def test_real_detector_two_people_become_two_confirmed_faces(shared_data, mediapipe_detector):
    photo = load_image_file(shared_data / 'faces' / 'two_people.jpg')
    core = FramePipeline(mediapipe_detector, SETTINGS)
    for k in range(3):
        frame = core.process(photo, 1.0 + k / 15, 'camera')
    assert (frame.width, frame.height) == (photo.shape[1], photo.shape[0])
    assert [f.confirmed for f in frame.faces] == [True, True]
    assert len({f.id for f in frame.faces}) == 2
    assert all(0 < f.distance_m < 10 and f.facing > 0.5 for f in frame.faces)
    assert frame.detect_ms > 0 and frame.process_ms >= frame.detect_ms


def test_real_detector_intrinsics_of_another_frame_size_are_not_applied(shared_data, mediapipe_detector):
    photo = load_image_file(shared_data / 'faces' / 'obama.jpg')
    half = np.ascontiguousarray(photo[::2, ::2])
    distances = []
    for image in (photo, half):
        core = FramePipeline(mediapipe_detector, replace(SETTINGS, idle_detect_hz=0.0))
        core.use_camera_info(focal_length_px(photo.shape[1], 60.0), photo.shape[1], photo.shape[0])
        distances.append(core.process(image, 0.0, 'camera').faces[0].distance_m)
    # The half-size frame has its own size, so it uses hfov (60°) at its own width: the same face
    # then reads at the same distance, as it should (the intrinsics of the full frame are not applied).
    assert distances[1] == pytest.approx(distances[0], rel=0.1)


def test_real_detector_an_empty_image_has_no_faces(mediapipe_detector):
    core = FramePipeline(mediapipe_detector, SETTINGS)
    frame = core.process(np.full((480, 640, 3), 128, np.uint8), 0.0, 'camera')
    assert frame.faces == [] and frame.detect_ms is not None


def test_implausible_intrinsics_are_refused_with_the_reason():
    from caexpo_robot.perception.frame_pipeline import intrinsics_problem
    fx = focal_length_px(640, 60.0)
    assert intrinsics_problem([fx, 0, 320, 0, fx, 240, 0, 0, 1], 640, 480) is None
    cases = {'non-finite': [math.inf, 0, 320, 0, fx, 240, 0, 0, 1],
             'non-finite ': [fx, 0, math.nan, 0, fx, 240, 0, 0, 1],
             'not a focal length': [0.0] * 9,
             'field of view': [1e9, 0, 320, 0, 1e9, 240, 0, 0, 1],
             'field of view ': [1.0, 0, 320, 0, 1.0, 240, 0, 0, 1],
             '9 numbers': [fx, 0, 320]}
    for reason, k in cases.items():
        assert reason.strip() in intrinsics_problem(k, 640, 480), reason
    assert 'empty size' in intrinsics_problem([fx, 0, 0, 0, fx, 0, 0, 0, 1], 0, 480)
    assert 'larger than' in intrinsics_problem([fx * 100, 0, 0, 0, fx, 0, 0, 0, 1], 64000, 48000, 4096 * 4096)
    core, _ = pipeline([face_at(2.0)])
    assert not core.use_camera_info(1e9, 640, 480) and core.camera_fx is None
