"""Face detection with MediaPipe's BlazeFace models (mediapipe.solutions.face_detection).

'short' is the short-range model (128x128 input, faces within about 2 m), 'full' the full-range
model (192x192 input, faces within about 5 m). Both return a box, a score and six keypoints.
mediapipe is imported when a detector is built, so the FaceDetection type stays cheap to import.
"""
from __future__ import annotations

import importlib
import math
import sys
import types
from dataclasses import dataclass

import numpy as np

from caexpo_robot.perception.image import check_rgb

MODELS = {'short': 0, 'full': 1}
# Measured on the shared photos and the Hamilton clip (docs/perception.md): the full-range model
# finds every face, including the two small ones in the 2000x1428 photo; the short-range one
# misses those and a far stage performer. Scores of real faces start at 0.64 in the dim clip.
DEFAULT_MODEL = 'full'
DEFAULT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class FaceDetection:
    """A face: normalised box clipped to [0, 1], score, mediapipe keypoints (normalised, may be ()):
    right eye, left eye, nose tip, mouth centre, right and left ear tragion (the subject's right/left)."""
    x: float
    y: float
    w: float
    h: float
    score: float
    keypoints: tuple[tuple[float, float], ...] = ()

    def to_pixels(self, width: int, height: int) -> tuple[int, int, int, int]:
        """(x, y, w, h) in whole pixels of a width x height image."""
        x0 = int(round(self.x * width))
        y0 = int(round(self.y * height))
        x1 = int(round((self.x + self.w) * width))
        y1 = int(round((self.y + self.h) * height))
        return x0, y0, x1 - x0, y1 - y0


class _ImportedOnUse(types.ModuleType):
    """Stands in for a module nothing here uses: the real one is imported at its first attribute access."""

    def __getattr__(self, name: str):
        if name.startswith('__') or sys.modules.get(self.__name__) is self:   # import machinery probing it
            raise AttributeError(name)
        return getattr(importlib.import_module(self.__name__), name)


def _import_mediapipe_face_detection():
    """mediapipe's face detection solution, without matplotlib. mediapipe's package imports all its solutions,
    and drawing_utils imports matplotlib.pyplot (33 MiB resident in the face_detector node) for plotting 3D
    landmarks, which the robot never does: while mediapipe imports, matplotlib is a stand-in that imports the
    real one if drawing_utils ever uses it."""
    if 'mediapipe' in sys.modules or 'matplotlib' in sys.modules:
        from mediapipe.python.solutions import face_detection
        return face_detection
    stand_ins = {name: _ImportedOnUse(name) for name in ('matplotlib', 'matplotlib.pyplot')}
    stand_ins['matplotlib'].pyplot = stand_ins['matplotlib.pyplot']   # `import matplotlib.pyplot as plt`
    sys.modules.update(stand_ins)
    try:
        from mediapipe.python.solutions import face_detection
    finally:
        for name, module in stand_ins.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return face_detection


def _clip01(value: float) -> float:
    return 0.0 if value < 0.0 else 1.0 if value > 1.0 else value


class FaceDetector:
    """One BlazeFace graph. Not thread-safe: use one detector per thread."""

    def __init__(self, model: str = DEFAULT_MODEL, min_score: float = DEFAULT_MIN_SCORE):
        if model not in MODELS:
            raise ValueError(f'unknown face model {model!r}; choose one of {", ".join(MODELS)}')
        if not (isinstance(min_score, (int, float)) and 0.0 <= min_score <= 1.0):
            raise ValueError(f'min_score must be a number in [0, 1], got {min_score!r}')
        mp_face_detection = _import_mediapipe_face_detection()
        self.model = model
        self.min_score = float(min_score)
        self._solution = mp_face_detection.FaceDetection(
            model_selection=MODELS[model], min_detection_confidence=self.min_score)

    def detect(self, rgb: np.ndarray) -> list[FaceDetection]:
        """Faces in an HxWx3 RGB uint8 image, best score first; ImageError for anything else."""
        if self._solution is None:
            raise RuntimeError('FaceDetector is closed')
        check_rgb(rgb)
        # no copy when the frame already is contiguous (image_from_buffer's rgb8 view usually is)
        result = self._solution.process(np.ascontiguousarray(rgb))
        faces = [self._convert(d) for d in (result.detections or ())]
        faces = [f for f in faces if f is not None and f.score >= self.min_score]
        faces.sort(key=lambda f: f.score, reverse=True)
        return faces

    @staticmethod
    def _convert(detection) -> FaceDetection | None:
        data = detection.location_data
        box = data.relative_bounding_box
        x0, y0 = _clip01(box.xmin), _clip01(box.ymin)
        x1, y1 = _clip01(box.xmin + box.width), _clip01(box.ymin + box.height)
        score = float(detection.score[0]) if detection.score else 0.0
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1, score)) or x1 <= x0 or y1 <= y0:
            return None  # a box entirely outside the frame
        keypoints = tuple((float(k.x), float(k.y)) for k in data.relative_keypoints)
        return FaceDetection(x0, y0, x1 - x0, y1 - y0, score, keypoints)

    def close(self) -> None:
        if self._solution is not None:
            self._solution.close()
            self._solution = None

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown: mediapipe may already be gone
            pass
