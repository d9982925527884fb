"""Renders the simulated entrance: an expo hall background with visitors' photos composited in,
scaled with a pinhole model so a face is as wide in pixels as a real 16 cm face at that distance."""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.perception.image import ImageError, load_image_file
from caexpo_robot.sim.scenario import ScenarioError, VisitorPlan

FACE_WIDTH_M = 0.16
FACE_CENTER_Y = 0.40      # the camera is at head height: faces sit a little above the frame centre


def builtin_photo(name: str) -> np.ndarray:
    if name == 'astronaut':
        from skimage import data  # public-domain NASA portrait shipped inside scikit-image
        return data.astronaut()
    raise ScenarioError(f'unknown built-in photo {name!r}')


def expo_background(width: int, height: int) -> np.ndarray:
    """A plain entrance hall: wall, floor, a banner and pillars — textured enough to not be trivial."""
    y = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None]
    wall = (np.array([214, 220, 228], np.float32) * (0.85 + 0.15 * y))[:, None, :]
    frame = np.broadcast_to(wall, (height, width, 3)).copy()
    floor_top = int(height * 0.72)
    frame[floor_top:] = np.array([150, 140, 128], np.float32)
    frame[floor_top:, ::max(width // 16, 1)] *= 0.85      # floor tiles
    banner = (int(width * 0.08), int(height * 0.05), int(width * 0.92), int(height * 0.16))
    cv2.rectangle(frame, banner[:2], banner[2:], (180, 30, 40), thickness=-1)
    cv2.putText(frame, 'CAEXPO  NANNING', (banner[0] + width // 20, banner[3] - height // 40),
                cv2.FONT_HERSHEY_SIMPLEX, height / 480.0, (255, 230, 150), 2, cv2.LINE_AA)
    for px in (0.03, 0.97):
        x = int(width * px)
        cv2.rectangle(frame, (x - width // 60, 0), (x + width // 60, floor_top), (170, 170, 180), -1)
    return frame.clip(0, 255).astype(np.uint8)


@dataclass
class Sprite:
    rgb: np.ndarray          # float32 HxWx3
    alpha: np.ndarray        # float32 HxWx1, soft ellipse
    face_x: float            # face box in sprite pixels
    face_y: float
    face_w: float
    face_h: float


def make_sprite(photo: np.ndarray, mirror: bool, tint: tuple[float, float, float], detector: FaceDetector,
                label: str) -> Sprite:
    if mirror:
        photo = np.ascontiguousarray(photo[:, ::-1])
    faces = detector.detect(photo)
    if not faces:
        raise ScenarioError(f'{label}: no face found in the photo; use a frontal portrait')
    face = max(faces, key=lambda f: f.w * f.h)
    height, width = photo.shape[:2]
    fx, fy, fw, fh = face.x * width, face.y * height, face.w * width, face.h * height
    # Head and shoulders around the face.
    x0, x1 = max(0, int(fx - 0.9 * fw)), min(width, int(fx + 1.9 * fw))
    y0, y1 = max(0, int(fy - 0.7 * fh)), min(height, int(fy + 2.6 * fh))
    crop = photo[y0:y1, x0:x1].astype(np.float32) * np.array(tint, np.float32)
    ch, cw = crop.shape[:2]
    yy, xx = np.mgrid[0:ch, 0:cw].astype(np.float32)
    ellipse = ((xx - cw / 2) / (cw / 2)) ** 2 + ((yy - ch / 2) / (ch / 2)) ** 2
    alpha = np.clip((1.0 - ellipse) * 4.0, 0.0, 1.0)[..., None]
    return Sprite(crop.clip(0, 255), alpha, fx - x0, fy - y0, fw, fh)


class EntranceRenderer:
    def __init__(self, width: int, height: int, hfov_deg: float, visitors: tuple[VisitorPlan, ...]) -> None:
        self.width, self.height = width, height
        self.focal_px = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
        self.background = expo_background(width, height)
        self.sprites: dict[str, Sprite] = {}
        with FaceDetector(model='short', min_score=0.5) as detector:
            for plan in visitors:
                try:
                    photo = (builtin_photo(plan.photo) if '/' not in plan.photo and '.' not in plan.photo
                             else load_image_file(plan.photo))
                except ImageError as exc:
                    raise ScenarioError(f'visitor {plan.name}: {exc}') from None
                self.sprites[plan.name] = make_sprite(photo, plan.mirror, plan.tint, detector,
                                                      f'visitor {plan.name}')

    def render(self, placements: list[tuple[str, float, float]]) -> tuple[np.ndarray, dict[str, tuple]]:
        """placements: (visitor name, distance_m, x); returns the frame and each visible face's
        normalised box (x, y, w, h) — the ground truth the simulator matches tracks against."""
        frame = self.background.astype(np.float32)
        truth = {}
        for name, distance, x in sorted(placements, key=lambda p: -p[1]):   # far ones first
            sprite = self.sprites[name]
            face_px = self.focal_px * FACE_WIDTH_M / max(distance, 0.3)
            scale = face_px / sprite.face_w
            sw, sh = max(1, int(sprite.rgb.shape[1] * scale)), max(1, int(sprite.rgb.shape[0] * scale))
            if sw < 4 or sh < 4:
                continue
            interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
            rgb = cv2.resize(sprite.rgb, (sw, sh), interpolation=interpolation)
            alpha = cv2.resize(sprite.alpha, (sw, sh), interpolation=interpolation)[..., None]
            face_cx = (sprite.face_x + sprite.face_w / 2) * scale
            face_cy = (sprite.face_y + sprite.face_h / 2) * scale
            left = int(round(x * self.width - face_cx))
            top = int(round(FACE_CENTER_Y * self.height - face_cy))
            fx0, fy0, fx1, fy1 = max(left, 0), max(top, 0), min(left + sw, self.width), min(top + sh, self.height)
            if fx1 <= fx0 or fy1 <= fy0:
                continue
            region = frame[fy0:fy1, fx0:fx1]
            a = alpha[fy0 - top:fy1 - top, fx0 - left:fx1 - left]
            region[:] = region * (1.0 - a) + rgb[fy0 - top:fy1 - top, fx0 - left:fx1 - left] * a
            bx0 = left + sprite.face_x * scale
            by0 = top + sprite.face_y * scale
            bw, bh = sprite.face_w * scale, sprite.face_h * scale
            cx0, cy0 = max(bx0, 0), max(by0, 0)
            cx1, cy1 = min(bx0 + bw, self.width), min(by0 + bh, self.height)
            if cx1 > cx0 and cy1 > cy0:
                truth[name] = (cx0 / self.width, cy0 / self.height, (cx1 - cx0) / self.width,
                               (cy1 - cy0) / self.height)
        return frame.astype(np.uint8), truth
