"""Camera buffers and image files to RGB numpy arrays (and back), with clear errors for bad input.

The layout follows sensor_msgs/Image: `height` rows of `step` bytes each, pixels packed at the start
of each row. Only 8-bit encodings are supported: the face detector wants 8-bit RGB anyway.
"""
from __future__ import annotations

import os

import cv2
import numpy as np

# encoding -> (channels, cv2 conversion to RGB or None when the bytes already are RGB)
ENCODINGS: dict[str, tuple[int, int | None]] = {
    'rgb8': (3, None),
    'bgr8': (3, cv2.COLOR_BGR2RGB),
    'mono8': (1, cv2.COLOR_GRAY2RGB),
    'rgba8': (4, cv2.COLOR_RGBA2RGB),
    'bgra8': (4, cv2.COLOR_BGRA2RGB),
}
# RGB -> encoding, for image_to_buffer
_FROM_RGB: dict[str, int | None] = {
    'rgb8': None,
    'bgr8': cv2.COLOR_RGB2BGR,
    'mono8': cv2.COLOR_RGB2GRAY,
    'rgba8': cv2.COLOR_RGB2RGBA,
    'bgra8': cv2.COLOR_RGB2BGRA,
}
# Far beyond any camera on the robot; a bigger header is a corrupt or hostile message.
MAX_DIMENSION = 16384
MAX_BYTES = 1 << 30


class ImageError(ValueError):
    """An image buffer or file that cannot be turned into an RGB image; the message says why."""


def _supported() -> str:
    return ', '.join(ENCODINGS)


def image_from_buffer(encoding: str, height: int, width: int, step: int,
                      data: bytes | bytearray | memoryview) -> np.ndarray:
    """An HxWx3 RGB uint8 array from a raw camera buffer.

    rgb8 comes back as a zero-copy (read-only) view of `data`, other encodings as a new array.
    Row padding (step > width * channels) is skipped, so the view may be non-contiguous.
    """
    if encoding not in ENCODINGS:
        raise ImageError(f'unsupported image encoding {encoding!r}; supported: {_supported()}')
    channels, conversion = ENCODINGS[encoding]
    for name, value in (('height', height), ('width', width), ('step', step)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
            raise ImageError(f'{name} must be an integer, got {value!r}')
    if height <= 0 or width <= 0:
        raise ImageError(f'empty image: {width}x{height} pixels')
    if height > MAX_DIMENSION or width > MAX_DIMENSION:
        raise ImageError(f'image {width}x{height} exceeds the {MAX_DIMENSION} pixel limit per side')
    row_bytes = width * channels
    if step < row_bytes:
        raise ImageError(f'step {step} is shorter than one row of {width} {encoding} pixels '
                         f'({row_bytes} bytes)')
    expected = step * height
    if expected > MAX_BYTES:
        raise ImageError(f'image of {expected} bytes exceeds the {MAX_BYTES} byte limit')
    try:
        size = memoryview(data).nbytes
    except TypeError as error:
        raise ImageError(f'image data must be bytes-like, got {type(data).__name__}') from error
    if size != expected:
        raise ImageError(f'data holds {size} bytes but step {step} x height {height} needs '
                         f'{expected} ({"truncated" if size < expected else "oversized"} buffer '
                         f'or mismatched step)')
    flat = np.frombuffer(data, dtype=np.uint8)
    pixels = np.ndarray((height, width, channels), dtype=np.uint8, buffer=flat,
                        strides=(step, channels, 1))
    if conversion is None:
        return pixels
    if channels == 1:
        pixels = pixels[:, :, 0]
    return cv2.cvtColor(pixels, conversion)


def image_to_buffer(rgb: np.ndarray, encoding: str = 'rgb8') -> tuple[int, int, int, bytes]:
    """(height, width, step, data) of an RGB image in `encoding`, rows packed without padding."""
    check_rgb(rgb)
    if encoding not in _FROM_RGB:
        raise ImageError(f'unsupported image encoding {encoding!r}; supported: {_supported()}')
    conversion = _FROM_RGB[encoding]
    out = rgb if conversion is None else cv2.cvtColor(np.ascontiguousarray(rgb), conversion)
    height, width = rgb.shape[:2]
    channels = ENCODINGS[encoding][0]
    return height, width, width * channels, np.ascontiguousarray(out).tobytes()


def check_rgb(rgb: np.ndarray) -> None:
    """ImageError unless `rgb` is a non-empty HxWx3 uint8 array."""
    if not isinstance(rgb, np.ndarray):
        raise ImageError(f'expected an RGB numpy array, got {type(rgb).__name__}')
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageError(f'expected an HxWx3 RGB array, got shape {rgb.shape}')
    if rgb.dtype != np.uint8:
        raise ImageError(f'expected uint8 pixels, got {rgb.dtype}')
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ImageError(f'empty image: {rgb.shape[1]}x{rgb.shape[0]} pixels')


def load_image_file(path: str | os.PathLike) -> np.ndarray:
    """An image file (JPEG, PNG, ... anything OpenCV decodes) as an HxWx3 RGB uint8 array."""
    try:
        with open(path, 'rb') as handle:
            if os.fstat(handle.fileno()).st_size > MAX_BYTES:
                raise ImageError(f'{os.fspath(path)} exceeds the {MAX_BYTES} byte limit')
            encoded = handle.read(MAX_BYTES + 1)
    except OSError as error:  # missing, a directory, no permission
        raise ImageError(f'cannot read {os.fspath(path)}: {error.strerror or error}') from error
    if not encoded:
        raise ImageError(f'{os.fspath(path)} is empty')
    if len(encoded) > MAX_BYTES:
        raise ImageError(f'{os.fspath(path)} exceeds the {MAX_BYTES} byte limit')
    # imdecode (like imread) returns None instead of raising when it cannot decode
    bgr = cv2.imdecode(np.frombuffer(encoded, dtype=np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ImageError(f'{os.fspath(path)} is not an image OpenCV can decode')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
