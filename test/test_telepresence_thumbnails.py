"""The thumbnail operators see: every face the robot's own detector finds in the shared photos is blurred
(measured: the pixel variance inside each detected box falls below VARIANCE_LIMIT, from 1,227-2,453 to
55-250 on these photos at 320 px wide), the rest of the picture is the plain downscaled frame, and a frame
whose faces are unknown is not sent at all."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from caexpo_robot.messages import FacesFrame, TrackedFace
from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.telepresence.thumbnails import FaceBoxes, _pixel_box, blur_faces, thumbnail

# Per-channel pixel variance inside a detected face box of the thumbnail, averaged over R, G, B. Unblurred,
# the faces of these photos measure 1,227 (a 33 px face) to 2,453; blurred, 55 to 250.
VARIANCE_LIMIT = 400.0
PHOTOS = ('biden.jpg', 'obama.jpg', 'obama-240p.jpg', 'obama_small.jpg', 'obama_partial_face.jpg',
          'obama_and_biden.jpg', 'two_people.jpg')


@pytest.fixture(scope='module')
def detector():
    with FaceDetector() as found:
        yield found


def load(shared_data, name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(shared_data / 'faces' / name)), cv2.COLOR_BGR2RGB)


def decode(jpeg: bytes) -> np.ndarray:
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def box_variance(rgb: np.ndarray, face) -> float:
    x0, y0, x1, y1 = _pixel_box(face, rgb.shape[1], rgb.shape[0], 0.0)
    return float(rgb[y0:y1, x0:x1].astype(np.float64).var(axis=(0, 1)).mean())


@pytest.mark.parametrize('name', PHOTOS)
def test_every_detected_face_is_blurred_in_the_thumbnail(shared_data, detector, name):
    rgb = load(shared_data, name)
    faces = detector.detect(rgb)
    assert faces, f'the detector finds the face(s) in {name}'
    jpeg, width, height, blurred = thumbnail(rgb, faces, max_width=320, quality=70)
    assert blurred == len(faces)
    assert width == min(320, rgb.shape[1]) and len(jpeg) < 96 * 1024
    thumb = decode(jpeg)
    assert thumb.shape == (height, width, 3)
    plain = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
    for face in faces:
        before, after = box_variance(plain, face), box_variance(thumb, face)
        assert before > VARIANCE_LIMIT, f'{name}: the unblurred face is above the limit ({before:.0f})'
        assert after < VARIANCE_LIMIT, f'{name}: face at {face.x:.2f},{face.y:.2f} variance {after:.0f}'


def test_outside_the_faces_the_thumbnail_is_the_plain_downscaled_frame(shared_data, detector):
    rgb = load(shared_data, 'two_people.jpg')
    faces = detector.detect(rgb)
    small = cv2.resize(rgb, (320, round(rgb.shape[0] * 320 / rgb.shape[1])), interpolation=cv2.INTER_AREA)
    blurred, n = blur_faces(small, faces, margin=0.25)
    assert n == 2
    outside = np.ones(small.shape[:2], bool)
    for face in faces:
        x0, y0, x1, y1 = _pixel_box(face, small.shape[1], small.shape[0], 0.25)
        outside[y0:y1, x0:x1] = False
    assert np.array_equal(blurred[outside], small[outside])       # exactly the input's pixels
    assert not np.array_equal(blurred[~outside], small[~outside])
    # Through JPEG: equal to the plain frame's JPEG away from the blocks a box touches (16 px, 4:2:0 chroma).
    jpeg, width, height, _ = thumbnail(rgb, faces, max_width=320, quality=70)
    plain = decode(cv2.imencode('.jpg', cv2.cvtColor(small, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 70])[1]
                   .tobytes())
    far = cv2.erode(outside.astype(np.uint8), np.ones((33, 33), np.uint8)).astype(bool)
    assert far.mean() > 0.5
    assert np.abs(decode(jpeg).astype(int) - plain.astype(int))[far].max() <= 2


def test_a_box_partly_outside_the_frame_is_blurred_where_it_is_inside():
    rng = np.random.default_rng(3)
    noise = rng.integers(0, 256, (100, 200, 3), dtype=np.uint8)
    face = TrackedFace(id='v1', x=-0.1, y=0.5, w=0.3, h=0.6, score=0.9, distance_m=1.0, facing=1.0,
                       confirmed=True, engaged=True)
    out, n = blur_faces(noise, [face], margin=0.0)
    assert n == 1
    assert out[50:, :40].var() < 0.05 * noise[50:, :40].var()
    assert np.array_equal(out[:50], noise[:50]) and np.array_equal(out[:, 41:], noise[:, 41:])
    gone = TrackedFace(id='v2', x=1.5, y=0.1, w=0.2, h=0.2, score=0.9, distance_m=1.0, facing=1.0,
                       confirmed=True, engaged=True)
    assert blur_faces(noise, [gone])[1] == 0


def test_bad_images_and_settings_are_refused_with_a_clear_error():
    with pytest.raises(ValueError, match='HxWx3'):
        thumbnail(np.zeros((10, 10), np.uint8), [])
    with pytest.raises(ValueError, match='max_width'):
        thumbnail(np.zeros((10, 10, 3), np.uint8), [], max_width=4)
    with pytest.raises(ValueError, match='margin'):
        blur_faces(np.zeros((10, 10, 3), np.uint8), [], margin=-1)


def _frame(stamp: float, faces: list[TrackedFace]) -> FacesFrame:
    return FacesFrame(stamp=stamp, frame_id='camera', width=640, height=480, faces=faces)


def test_an_image_is_matched_to_the_faces_frame_of_its_stamp_or_not_sent():
    boxes = FaceBoxes(match_s=0.2)
    assert boxes.for_stamp(10.0) is None            # nothing known yet: not sent
    face = TrackedFace(id='v1', x=0.4, y=0.3, w=0.1, h=0.15, score=0.9, distance_m=1.2, facing=0.9,
                       confirmed=True, engaged=True)
    boxes.add(_frame(10.0, [face]))
    boxes.add(_frame(10.5, []))
    assert boxes.for_stamp(10.0) == [face]
    assert boxes.for_stamp(10.15) == [face]
    assert boxes.for_stamp(10.45) == []              # known: nobody there
    assert boxes.for_stamp(11.0) is None             # the newest faces are 0.5 s older than the image
