"""Face detection on the shared real photos (real mediapipe BlazeFace models) and the `detect` CLI."""
import io
import json
import subprocess
import sys

import numpy as np
import pytest
import skimage.data

from caexpo_robot.perception.detect_cli import detect_main
from caexpo_robot.perception.face_detection import DEFAULT_MODEL, FaceDetection, FaceDetector
from caexpo_robot.perception.image import ImageError, image_from_buffer, image_to_buffer, load_image_file

PHOTO_FACES = {
    'obama.jpg': 1,
    'biden.jpg': 1,
    'two_people.jpg': 2,
    'obama_and_biden.jpg': 2,  # small faces in 2000x1428: the full-range model needs no tiling
    'obama_small.jpg': 1,
    'obama-240p.jpg': 1,
    'obama_partial_face.jpg': 1,
}


@pytest.fixture(scope='module')
def detector():
    with FaceDetector() as face_detector:
        yield face_detector


@pytest.fixture(scope='module')
def short_detector():
    with FaceDetector(model='short') as face_detector:
        yield face_detector


def test_default_is_the_full_range_model():
    assert DEFAULT_MODEL == 'full'


@pytest.mark.parametrize('name, expected', sorted(PHOTO_FACES.items()))
def test_faces_in_real_photos(detector, shared_data, name, expected):
    faces = detector.detect(load_image_file(shared_data / 'faces' / name))
    assert len(faces) == expected, faces
    for face in faces:
        assert 0.0 <= face.x and 0.0 <= face.y and face.w > 0 and face.h > 0
        assert face.x + face.w <= 1.0 + 1e-9 and face.y + face.h <= 1.0 + 1e-9
        assert 0.5 <= face.score <= 1.0
        assert len(face.keypoints) == 6
    assert [f.score for f in faces] == sorted((f.score for f in faces), reverse=True)


def test_keypoints_sit_inside_a_frontal_face(detector, shared_data):
    face, = detector.detect(load_image_file(shared_data / 'faces' / 'obama.jpg'))
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    for x, y in (right_eye, left_eye, nose, mouth):
        assert face.x <= x <= face.x + face.w and face.y <= y <= face.y + face.h
    assert right_eye[0] < nose[0] < left_eye[0]  # the subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]


def test_partial_face_box_is_clipped_to_the_frame(detector, shared_data):
    rgb = load_image_file(shared_data / 'faces' / 'obama_partial_face.jpg')
    face, = detector.detect(rgb)
    assert face.x == 0.0  # mediapipe's own box starts left of the image
    x, y, w, h = face.to_pixels(rgb.shape[1], rgb.shape[0])
    assert x == 0 and w > 100 and x + w <= rgb.shape[1]


def test_short_range_model_misses_the_small_faces(short_detector, shared_data):
    """Why 'full' is the default: with a 128x128 input, the short-range model loses ~200 px faces
    in a 2000x1428 photo (about 20x14 px after its resize)."""
    photo = load_image_file(shared_data / 'faces' / 'obama_and_biden.jpg')
    assert len(short_detector.detect(photo)) < 2
    assert len(short_detector.detect(load_image_file(shared_data / 'faces' / 'two_people.jpg'))) == 2


@pytest.mark.parametrize('scene', ['coffee', 'chelsea', 'rocket', 'black', 'grey'])
def test_no_face_scenes(detector, short_detector, scene):
    if scene == 'black':
        rgb = np.zeros((480, 640, 3), np.uint8)
    elif scene == 'grey':
        rgb = np.full((360, 640, 3), 128, np.uint8)
    else:
        rgb = getattr(skimage.data, scene)()
    assert detector.detect(rgb) == []
    assert short_detector.detect(rgb) == []


def test_min_score_filters(shared_data):
    photo = load_image_file(shared_data / 'faces' / 'obama_and_biden.jpg')  # scores 0.88 and 0.79
    with FaceDetector(min_score=0.85) as strict:
        faces = strict.detect(photo)
    assert len(faces) == 1 and faces[0].score >= 0.85


def test_strided_view_gives_the_same_faces(detector, shared_data):
    rgb = load_image_file(shared_data / 'faces' / 'two_people.jpg')
    height, width, step, data = image_to_buffer(rgb)
    padded = b''.join(data[r * step:(r + 1) * step] + bytes(64) for r in range(height))
    view = image_from_buffer('rgb8', height, width, step + 64, padded)
    assert not view.flags['C_CONTIGUOUS']
    assert detector.detect(view) == detector.detect(rgb)


def test_read_only_zero_copy_frame(detector, shared_data):
    rgb = load_image_file(shared_data / 'faces' / 'obama-240p.jpg')
    view = image_from_buffer('rgb8', *image_to_buffer(rgb, 'rgb8'))
    assert not view.flags['WRITEABLE'] and view.flags['C_CONTIGUOUS']
    assert len(detector.detect(view)) == 1
    assert detector.detect(image_from_buffer('bgr8', *image_to_buffer(rgb, 'bgr8'))) == detector.detect(rgb)


def test_bad_input_is_refused(detector):
    with pytest.raises(ImageError, match='HxWx3'):
        detector.detect(np.zeros((48, 64), np.uint8))
    with pytest.raises(ImageError, match='HxWx3'):
        detector.detect(np.zeros((48, 64, 4), np.uint8))
    with pytest.raises(ImageError, match='uint8'):
        detector.detect(np.zeros((48, 64, 3), np.float32))
    with pytest.raises(ImageError, match='empty image'):
        detector.detect(np.zeros((0, 64, 3), np.uint8))
    with pytest.raises(ImageError, match='numpy array'):
        detector.detect(b'\x00' * 12)
    assert detector.detect(np.zeros((1, 1, 3), np.uint8)) == []  # tiny but valid; still usable


def test_constructor_and_close():
    with pytest.raises(ValueError, match="unknown face model 'long'"):
        FaceDetector(model='long')
    with pytest.raises(ValueError, match='min_score'):
        FaceDetector(min_score=1.5)
    detector = FaceDetector(model='short')
    detector.close()
    detector.close()  # idempotent
    with pytest.raises(RuntimeError, match='closed'):
        detector.detect(np.zeros((8, 8, 3), np.uint8))


def test_to_pixels():
    assert FaceDetection(0.25, 0.5, 0.5, 0.25, 0.9).to_pixels(640, 480) == (160, 240, 320, 120)


def test_detect_main_mixed_files(tmp_path, shared_data):
    (tmp_path / 'notes.jpg').write_text('not an image')
    paths = [str(shared_data / 'faces' / 'two_people.jpg'), str(tmp_path / 'notes.jpg'),
             str(tmp_path / 'missing.png'), str(shared_data / 'faces' / 'obama-240p.jpg')]
    out = io.StringIO()
    assert detect_main(paths, out=out) == 1
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line['image'] for line in lines] == paths
    assert len(lines[0]['faces']) == 2
    assert 'not an image' in lines[1]['error'] and 'faces' not in lines[1]
    assert 'No such file' in lines[2]['error']
    face, = lines[3]['faces']
    assert set(face) == {'x', 'y', 'w', 'h', 'score'}
    assert all(isinstance(face[key], int) for key in 'xywh')
    assert 0 <= face['x'] and face['x'] + face['w'] <= 427 and 30 <= face['w'] <= 120


def test_detect_main_all_good_exits_zero(shared_data):
    out = io.StringIO()
    assert detect_main([str(shared_data / 'faces' / 'obama.jpg')], model='short', out=out) == 0
    assert len(json.loads(out.getvalue())['faces']) == 1


def test_detect_command_line(shared_data, tmp_path):
    result = subprocess.run(
        [sys.executable, '-m', 'caexpo_robot.perception.detect_cli', '--model', 'full',
         str(shared_data / 'faces' / 'biden.jpg'), str(tmp_path / 'none.jpg')],
        capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    good, bad = (json.loads(line) for line in result.stdout.splitlines())
    assert len(good['faces']) == 1 and 'error' in bad
