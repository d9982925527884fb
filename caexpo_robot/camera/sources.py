"""Frame sources for the camera node: a V4L2 camera, a video file or a folder of images.

Every source returns RGB uint8 frames. A source that fails (camera unplugged, file gone) is wrapped in
`ReconnectingSource`, which reports the state and retries on a fixed period instead of giving up.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import cv2
import numpy as np

IMAGE_SUFFIXES = {'.jpg', '.jpeg', '.png', '.bmp', '.webp', '.tif', '.tiff'}
VIDEO_SUFFIXES = {'.mp4', '.avi', '.mkv', '.mov', '.webm', '.m4v'}


# The largest frame side the camera node publishes (8K); a source frame larger than MAX_PIXELS (4096 x
# 4096, the face detector's default max_image_pixels) is scaled down when its size is kept (width or
# height 0), so a huge image in a folder is never published, nor cached, at full size.
MAX_SIDE = 7680
MAX_PIXELS = 4096 * 4096


class CameraError(RuntimeError):
    """The source cannot be opened or read."""


def _resized(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    if width > 0 and height > 0:
        if (frame.shape[1], frame.shape[0]) != (width, height):
            return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
        return frame
    pixels = frame.shape[0] * frame.shape[1]
    if pixels > MAX_PIXELS:
        scale = (MAX_PIXELS / pixels) ** 0.5
        size = (max(1, int(frame.shape[1] * scale)), max(1, int(frame.shape[0] * scale)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    return frame


class VideoCaptureSource:
    """A V4L2 device (`/dev/video0`, `0`) or a video file through OpenCV."""

    def __init__(self, target: str | int, *, loop: bool = True, width: int = 0, height: int = 0) -> None:
        self.target, self.loop, self.width, self.height = target, loop, width, height
        self.is_device = isinstance(target, int) or str(target).startswith('/dev/')
        self._capture: cv2.VideoCapture | None = None

    def describe(self) -> str:
        return f'{"camera" if self.is_device else "video"} {self.target}'

    def open(self) -> None:
        self.close()
        if not self.is_device and not os.path.isfile(str(self.target)):
            raise CameraError(f'video file not found: {self.target}')
        capture = cv2.VideoCapture(self.target, cv2.CAP_V4L2 if self.is_device else cv2.CAP_ANY)
        if not capture.isOpened():
            capture.release()
            raise CameraError(f'cannot open {self.describe()}')
        if self.is_device and self.width and self.height:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        self._capture = capture

    def read(self) -> np.ndarray:
        if self._capture is None:
            raise CameraError(f'{self.describe()} is not open')
        ok, frame = self._capture.read()
        if not ok and not self.is_device and self.loop:
            self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._capture.read()
        if not ok or frame is None:
            raise CameraError(f'{self.describe()} gave no frame')
        return _resized(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.width, self.height)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


class ImageFolderSource:
    """The images of a folder in name order, one per frame, looping."""

    CACHE_FRAMES = 64   # decoded frames kept: a short loop is decoded once, not 30 times a second

    def __init__(self, folder: str, *, loop: bool = True, width: int = 0, height: int = 0) -> None:
        self.folder, self.loop, self.width, self.height = Path(folder), loop, width, height
        self._files: list[Path] = []
        self._index = 0
        self._cache: dict[Path, np.ndarray] = {}

    def describe(self) -> str:
        return f'image folder {self.folder}'

    def open(self) -> None:
        if not self.folder.is_dir():
            raise CameraError(f'image folder not found: {self.folder}')
        self._files = sorted(p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self._files:
            raise CameraError(f'no images ({", ".join(sorted(IMAGE_SUFFIXES))}) in {self.folder}')
        self._index = 0

    def read(self) -> np.ndarray:
        if not self._files:
            raise CameraError(f'{self.describe()} is not open')
        if self._index >= len(self._files):
            if not self.loop:
                raise CameraError(f'{self.describe()}: no more images')
            self._index = 0
        path = self._files[self._index]
        self._index += 1
        cached = self._cache.get(path)
        if cached is not None:
            return cached
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:  # cv2 returns None for unreadable files instead of raising
            raise CameraError(f'unreadable image {path}')
        frame = _resized(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), self.width, self.height)
        if len(self._files) <= self.CACHE_FRAMES:
            frame.setflags(write=False)   # shared between frames: nobody may draw on it
            self._cache[path] = frame
        return frame

    def close(self) -> None:
        self._files = []
        self._cache.clear()


def make_source(uri: str, *, width: int = 0, height: int = 0, loop: bool = True):
    """`/dev/videoN` or a number → camera; a folder → images; a file → video."""
    if uri.isdigit():
        return VideoCaptureSource(int(uri), width=width, height=height)
    if uri.startswith('/dev/'):
        return VideoCaptureSource(uri, width=width, height=height)
    if os.path.isdir(uri):
        return ImageFolderSource(uri, loop=loop, width=width, height=height)
    if Path(uri).suffix.lower() in VIDEO_SUFFIXES or os.path.isfile(uri):
        return VideoCaptureSource(uri, loop=loop, width=width, height=height)
    raise CameraError(f'camera source {uri!r} is not a device, a folder or a video file')


class ReconnectingSource:
    """Keeps a source alive: a failed open or read marks it down and it is retried every `retry_s`."""

    def __init__(self, source, retry_s: float, clock: Callable[[], float]) -> None:
        self.source, self.retry_s, self.clock = source, retry_s, clock
        self.connected = False
        self.last_error = ''
        self.failures = 0
        self._next_try = float('-inf')

    def read(self) -> np.ndarray | None:
        """A frame, or None while the source is down (the error is in `last_error`)."""
        now = self.clock()
        if not self.connected:
            if now < self._next_try:
                return None
            try:
                self.source.open()
                self.connected = True
            except CameraError as exc:
                return self._failed(exc, now)
        try:
            return self.source.read()
        except CameraError as exc:
            self.source.close()
            self.connected = False
            return self._failed(exc, now)

    def _failed(self, exc: Exception, now: float) -> None:
        self.failures += 1
        self.last_error = str(exc)
        self._next_try = now + self.retry_s
        return None

    def close(self) -> None:
        self.source.close()
        self.connected = False
