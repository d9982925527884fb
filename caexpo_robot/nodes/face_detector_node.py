"""face_detector: mediapipe faces → tracked faces with stable ids, distance and engagement, every frame."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import String

from caexpo_robot import events
from caexpo_robot.nodes.common import EVENTS, OK, SENSOR_DATA, WARN, CaexpoNode, Param, run_node
from caexpo_robot.nodes.conversions import rgb_from_msg
from caexpo_robot.perception.engagement import (EngagementEstimator, estimate_distance_m, facing_score,
                                                focal_length_px)
from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.perception.image import ImageError
from caexpo_robot.perception.tracking import FaceTracker


class FaceDetectorNode(CaexpoNode):
    PARAMS = (
        Param('model', 'full', "mediapipe BlazeFace model: 'full' (faces up to ~5 m) or 'short' (up to ~2 m)"),
        Param('min_score', 0.5, 'detections below this confidence are ignored'),
        Param('confirm_hits', 3, 'frames a face must be seen before it is a tracked visitor'),
        Param('max_misses', 8, 'frames a tracked face may be missing before it is dropped'),
        Param('engage_distance_m', 2.0, 'a facing visitor nearer than this becomes engaged'),
        Param('disengage_distance_m', 2.6, 'an engaged visitor farther than this disengages (hysteresis)'),
        Param('min_facing', 0.5, 'facing score (0 profile .. 1 frontal) needed to engage'),
        Param('engage_after_s', 0.2, 'seconds the engage condition must hold'),
        Param('disengage_after_s', 1.0, 'seconds the disengage condition must hold'),
        Param('track_gap_s', 2.0, 'a gap between frames longer than this (or time going back) restarts tracking'),
        Param('face_width_m', 0.16, 'typical face width, for the distance estimate'),
        Param('hfov_deg', 60.0, 'horizontal field of view used until a CameraInfo arrives'),
        Param('idle_detect_hz', 5.0, 'while nobody is tracked, detect on frames at most this often (saves CPU on '
              'an empty entrance; a visitor walking up is seen at most 1/idle_detect_hz later); 0 = every frame'),
        Param('max_image_pixels', 4096 * 4096, 'larger frames are dropped (a corrupt header, not a camera)'),
        Param('debug_save_dir', '', 'PRIVACY: if set, face crops are written here; empty = never'),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('face_detector', **kwargs)
        self.detector = FaceDetector(model=self.p.model, min_score=self.p.min_score)
        self.tracker = FaceTracker(confirm_hits=self.p.confirm_hits, max_misses=self.p.max_misses)
        self.engagement = EngagementEstimator(
            engage_distance_m=self.p.engage_distance_m, disengage_distance_m=self.p.disengage_distance_m,
            min_facing=self.p.min_facing, engage_after_s=self.p.engage_after_s,
            disengage_after_s=self.p.disengage_after_s)
        self.fx_from_info: float | None = None
        self.info_size: tuple[int, int] | None = None
        self.last_stamp: float | None = None
        self.last_detected_stamp: float | None = None
        self.last_detect_ms = 0.0
        self.last_process_ms = 0.0
        self.tracked_count = 0
        self.faces_pub = self.create_publisher(String, 'humans/faces/tracked', EVENTS)
        self.create_subscription(Image, 'camera/image_raw', self.on_image, SENSOR_DATA)
        self.info_sub = None
        self._listen_for_camera_info()
        if self.p.debug_save_dir:
            self.get_logger().warning(f'debug_save_dir is set: face crops are written to {self.p.debug_save_dir}')

    def _listen_for_camera_info(self) -> None:
        if self.info_sub is None:
            self.info_sub = self.create_subscription(CameraInfo, 'camera/camera_info', self.on_camera_info,
                                                     SENSOR_DATA)

    def on_camera_info(self, msg: CameraInfo) -> None:
        if msg.k[0] > 0:
            self.fx_from_info = float(msg.k[0])
            self.info_size = (msg.width, msg.height)
            # Intrinsics do not change with every frame: stop taking 30 callbacks a second for them.
            self.destroy_subscription(self.info_sub)
            self.info_sub = None

    def on_image(self, msg: Image) -> None:
        callback_started = time.perf_counter()
        if msg.width * msg.height > self.p.max_image_pixels:
            self.drop('image', f'{msg.width}x{msg.height} is larger than max_image_pixels')
            return
        try:
            rgb = rgb_from_msg(msg)
        except ImageError as exc:
            self.drop('image', str(exc))
            return
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        if self._idle_skip(stamp):
            self.count('frames_skipped_idle')
            self.faces_pub.publish(String(data=events.encode('faces', {
                'stamp': stamp, 'frame_id': msg.header.frame_id, 'width': msg.width, 'height': msg.height,
                'faces': []})))
            return
        started = time.perf_counter()
        detections = self.detector.detect(rgb)
        self.last_detect_ms = (time.perf_counter() - started) * 1000.0
        if self.last_stamp is not None and not 0.0 <= stamp - self.last_stamp <= self.p.track_gap_s:
            # Time went backwards or the camera was away: nobody may keep an id across the break.
            for track in self.tracker.tracks:
                self.engagement.forget(track.id)
            self.tracker.reset()
            self.count('tracker_resets')
        self.last_stamp = stamp
        tracks = self.tracker.update(detections, stamp)
        for gone in self.tracker.dropped:
            self.engagement.forget(gone.id)
        if self.fx_from_info is not None and self.info_size != (msg.width, msg.height):
            self.fx_from_info = None           # another resolution: wait for its CameraInfo
            self._listen_for_camera_info()
        fx = self.fx_from_info or focal_length_px(msg.width, self.p.hfov_deg)
        faces = []
        for track in tracks:
            distance = estimate_distance_m(track.w * msg.width, fx, self.p.face_width_m)
            facing = facing_score(track.keypoints)
            engaged = track.confirmed and self.engagement.update(track.id, distance, facing, stamp)
            faces.append({'id': track.id, 'x': round(track.x, 4), 'y': round(track.y, 4),
                          'w': round(track.w, 4), 'h': round(track.h, 4), 'score': round(track.score, 3),
                          'distance_m': round(distance, 2), 'facing': round(facing, 2),
                          'confirmed': track.confirmed, 'engaged': engaged})
            if self.p.debug_save_dir and track.confirmed:
                self._save_crop(rgb, track, stamp)
        self.tracked_count = sum(face['confirmed'] for face in faces)
        # The whole callback up to publishing (conversion, detection, tracking, engagement, JSON).
        self.last_process_ms = (time.perf_counter() - callback_started) * 1000.0
        self.faces_pub.publish(String(data=events.encode('faces', {
            'stamp': stamp, 'frame_id': msg.header.frame_id, 'width': msg.width, 'height': msg.height,
            'faces': faces, 'detect_ms': round(self.last_detect_ms, 2),
            'process_ms': round(self.last_process_ms, 2)})))
        self.count('frames_processed')

    def _idle_skip(self, stamp: float) -> bool:
        """True for a frame that may go undetected: nobody tracked and the idle rate already met."""
        if self.p.idle_detect_hz <= 0 or len(self.tracker):
            self.last_detected_stamp = stamp
            return False
        if (self.last_detected_stamp is not None
                and 0.0 <= stamp - self.last_detected_stamp < 1.0 / self.p.idle_detect_hz - 1e-6):
            return True
        self.last_detected_stamp = stamp
        return False

    def _save_crop(self, rgb, track, stamp: float) -> None:
        height, width = rgb.shape[:2]
        x0, y0 = int(track.x * width), int(track.y * height)
        crop = rgb[y0:y0 + int(track.h * height), x0:x0 + int(track.w * width)]
        if crop.size:
            folder = Path(self.p.debug_save_dir)
            folder.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(folder / f'{track.id}_{stamp:.3f}.jpg'), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR))

    def diagnostic_state(self):
        values = {'tracked_faces': self.tracked_count, 'detect_ms': f'{self.last_detect_ms:.1f}',
                  'process_ms': f'{self.last_process_ms:.1f}',
                  'model': self.p.model}
        if self.counters['frames_processed'] == 0:
            return WARN, 'no camera frames received yet', values
        return OK, f'{self.tracked_count} visitor(s) tracked', values

    def close(self) -> None:
        self.detector.close()


def main(args=None) -> int:
    return run_node(FaceDetectorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
