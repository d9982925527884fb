"""Camera buffer and image file conversion: round trips, row padding, and clear errors for bad input."""
import array

import numpy as np
import pytest

from caexpo_robot.perception.image import (
    ENCODINGS,
    MAX_DIMENSION,
    ImageError,
    image_from_buffer,
    image_to_buffer,
    load_image_file,
)


@pytest.fixture(scope='module')
def rgb():
    return np.random.default_rng(7).integers(0, 256, (6, 9, 3), dtype=np.uint8)


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_round_trip_every_encoding(rgb, encoding):
    height, width, step, data = image_to_buffer(rgb, encoding)
    assert (height, width, step) == (6, 9, 9 * ENCODINGS[encoding][0])
    assert len(data) == step * height
    back = image_from_buffer(encoding, height, width, step, data)
    assert back.shape == (6, 9, 3) and back.dtype == np.uint8
    if encoding == 'mono8':  # grey: all three channels equal the luma of the original
        assert np.array_equal(back[..., 0], back[..., 1])
        luma = rgb @ np.array([0.299, 0.587, 0.114])
        assert np.abs(back[..., 0] - luma).max() <= 1.0
    else:
        assert np.array_equal(back, rgb)


def test_bgr8_channel_order_is_swapped():
    bgr = bytes([10, 20, 30])  # one pixel: blue 10, green 20, red 30
    assert image_from_buffer('bgr8', 1, 1, 3, bgr)[0, 0].tolist() == [30, 20, 10]
    assert image_from_buffer('rgb8', 1, 1, 3, bgr)[0, 0].tolist() == [10, 20, 30]
    assert image_from_buffer('bgra8', 1, 1, 4, bytes([10, 20, 30, 99]))[0, 0].tolist() == [30, 20, 10]


@pytest.mark.parametrize('encoding', sorted(ENCODINGS))
def test_row_padding_is_skipped(rgb, encoding):
    height, width, step, data = image_to_buffer(rgb, encoding)
    padded = b''.join(data[r * step:(r + 1) * step] + b'\xff' * 7 for r in range(height))
    expected = image_from_buffer(encoding, height, width, step, data)
    assert np.array_equal(image_from_buffer(encoding, height, width, step + 7, padded), expected)


def test_rgb8_is_a_zero_copy_view(rgb):
    height, width, step, data = image_to_buffer(rgb)
    view = image_from_buffer('rgb8', height, width, step, data)
    assert np.shares_memory(view, np.frombuffer(data, dtype=np.uint8))
    assert view.flags['C_CONTIGUOUS']


@pytest.mark.parametrize('encoding', ['16UC1', 'yuv422', 'bayer_rggb8', '32FC1', 'RGB8', ''])
def test_unsupported_encoding_names_the_supported_ones(encoding):
    with pytest.raises(ImageError, match=r'unsupported image encoding.*rgb8, bgr8, mono8, rgba8, bgra8'):
        image_from_buffer(encoding, 2, 2, 12, bytes(24))


@pytest.mark.parametrize('height, width', [(0, 4), (4, 0), (0, 0), (-1, 4)])
def test_zero_size(height, width):
    with pytest.raises(ImageError, match='empty image'):
        image_from_buffer('rgb8', height, width, 12, b'')


def test_step_shorter_than_a_row():
    with pytest.raises(ImageError, match=r'step 8 is shorter than one row of 4 rgb8 pixels \(12 bytes\)'):
        image_from_buffer('rgb8', 2, 4, 8, bytes(16))


def test_mismatched_step_and_truncated_data():
    with pytest.raises(ImageError, match=r'data holds 24 bytes but step 16 x height 2 needs 32.*truncated'):
        image_from_buffer('rgb8', 2, 4, 16, bytes(24))  # step claims padding the data lacks
    with pytest.raises(ImageError, match='truncated'):
        image_from_buffer('bgr8', 480, 640, 1920, bytes(1920 * 480 - 1))
    with pytest.raises(ImageError, match='oversized'):
        image_from_buffer('mono8', 2, 2, 2, bytes(5))


def test_absurd_sizes_are_refused_before_allocating():
    with pytest.raises(ImageError, match='pixel limit'):
        image_from_buffer('rgb8', MAX_DIMENSION + 1, 10, 30, b'')
    with pytest.raises(ImageError, match='byte limit'):
        image_from_buffer('rgba8', 16000, 16000, 68000, b'')
    with pytest.raises(ImageError, match='must be an integer'):
        image_from_buffer('rgb8', 2.0, 2, 6, bytes(12))


def test_ros_message_data_types(rgb):
    """rclpy hands uint8[] fields over as array.array('B'); a list is refused clearly."""
    height, width, step, data = image_to_buffer(rgb)
    assert np.array_equal(image_from_buffer('rgb8', height, width, step, array.array('B', data)), rgb)
    assert np.array_equal(image_from_buffer('rgb8', height, width, step, memoryview(data)), rgb)
    with pytest.raises(ImageError, match='bytes-like'):
        image_from_buffer('rgb8', height, width, step, list(data))


def test_image_to_buffer_rejects_non_rgb():
    with pytest.raises(ImageError, match='HxWx3'):
        image_to_buffer(np.zeros((4, 4), np.uint8))
    with pytest.raises(ImageError, match='uint8'):
        image_to_buffer(np.zeros((4, 4, 3), np.float32))
    with pytest.raises(ImageError, match='unsupported image encoding'):
        image_to_buffer(np.zeros((4, 4, 3), np.uint8), 'yuv422')


def test_load_real_photo(shared_data):
    rgb = load_image_file(shared_data / 'faces' / 'obama-240p.jpg')
    assert rgb.shape == (240, 427, 3) and rgb.dtype == np.uint8
    assert rgb.flags['C_CONTIGUOUS']


def test_load_bad_files(tmp_path, shared_data):
    with pytest.raises(ImageError, match='No such file'):
        load_image_file(tmp_path / 'missing.jpg')
    with pytest.raises(ImageError, match='Is a directory'):
        load_image_file(tmp_path)
    (tmp_path / 'empty.png').write_bytes(b'')
    with pytest.raises(ImageError, match='is empty'):
        load_image_file(tmp_path / 'empty.png')
    (tmp_path / 'text.jpg').write_text('not a picture')
    with pytest.raises(ImageError, match='not an image OpenCV can decode'):
        load_image_file(tmp_path / 'text.jpg')
    truncated = (shared_data / 'faces' / 'obama.jpg').read_bytes()[:200]  # header only
    (tmp_path / 'truncated.jpg').write_bytes(truncated)
    with pytest.raises(ImageError, match='not an image OpenCV can decode'):
        load_image_file(tmp_path / 'truncated.jpg')
    with pytest.raises(ImageError, match='not an image OpenCV can decode'):
        load_image_file(shared_data / 'faces' / 'short_hamilton_clip.mp4')
