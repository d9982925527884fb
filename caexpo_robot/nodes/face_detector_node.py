"""face_detector: camera frames → tracked faces with stable ids, distance and engagement (greeter/faces).

Glue only: the frame pipeline (idle skipping, detection, tracking, engagement, distance) is
perception/frame_pipeline.py, synchronous, so pending_work() stays 0. Sensor values are checked on
every message: a frame larger than max_image_pixels is dropped from its header, before any
conversion; a CameraInfo with a non-finite, zero or implausible K is a counted drop. Intrinsics in use
are re-checked every INFO_RECHECK_S (a recalibrated or swapped camera is taken, not the first forever).
"""
from __future__ import annotations

import time
from dataclasses import fields

from sensor_msgs.msg import CameraInfo, Image

from caexpo_robot.messages import FacesFrame
from caexpo_robot.nodes.common import OK, SENSOR_DATA, WARN, CaexpoNode, Param, ParamRule, Range, run_node
from caexpo_robot.nodes.conversions import rgb_from_msg
from caexpo_robot.perception.face_detection import FaceDetector
from caexpo_robot.perception.frame_pipeline import FramePipeline, FrameSettings, intrinsics_problem

# While a CameraInfo's intrinsics are in use the node does not take 30 of them a second: it listens
# again this often and takes a changed K.
INFO_RECHECK_S = 5.0
UNIT = Range(ge=0, le=1)
POSITIVE = Range(gt=0)


class FaceDetectorNode(CaexpoNode):
    PARAMS = (
        Param('model', 'full', "mediapipe BlazeFace model: 'full' (faces up to ~5 m) or 'short' (up to ~2 m)",
              check=lambda v: None if v in ('full', 'short') else "must be 'full' or 'short'"),
        Param('min_score', 0.5, 'detections below this confidence are ignored', check=UNIT),
        Param('confirm_hits', 3, 'frames a face must be seen before it is a tracked visitor', check=Range(ge=1)),
        Param('max_misses', 8, 'frames a tracked face may be missing before it is dropped', check=Range(ge=0)),
        Param('engage_distance_m', 2.0, 'a facing visitor nearer than this becomes engaged', check=POSITIVE),
        Param('disengage_distance_m', 2.6, 'an engaged visitor farther than this disengages (hysteresis)',
              check=POSITIVE),
        Param('min_facing', 0.5, 'facing score (0 profile .. 1 frontal) needed to engage', check=UNIT),
        Param('engage_after_s', 0.2, 'seconds the engage condition must hold', check=Range(ge=0)),
        Param('disengage_after_s', 1.0, 'seconds the disengage condition must hold', check=Range(ge=0)),
        Param('track_gap_s', 2.0, 'a gap between frames longer than this (or time going back) restarts tracking',
              check=POSITIVE),
        Param('face_width_m', 0.16, 'typical face width, for the distance estimate', check=Range(gt=0, le=1)),
        Param('hfov_deg', 60.0, 'horizontal field of view used until a CameraInfo arrives', check=Range(gt=0, lt=180)),
        Param('idle_detect_hz', 5.0, 'while nobody is tracked, detect on frames at most this often (saves CPU on '
              'an empty entrance; a visitor walking up is seen at most 1/idle_detect_hz later); 0 = every frame',
              check=Range(ge=0)),
        Param('max_image_pixels', 4096 * 4096, 'larger frames are dropped (a corrupt header, not a camera)',
              check=Range(gt=0, le=16384 * 16384)),
        Param('debug_save_dir', '', 'PRIVACY: if set, face crops are written here; empty = never'),
    )
    PARAM_RULES = (ParamRule('disengage_distance_m must be >= engage_distance_m (hysteresis)',
                             lambda p: p.disengage_distance_m >= p.engage_distance_m),)

    def __init__(self, **kwargs) -> None:
        super().__init__('face_detector', **kwargs)
        settings = FrameSettings(**{f.name: getattr(self.p, f.name) for f in fields(FrameSettings)})
        self.pipeline = FramePipeline(FaceDetector(model=self.p.model, min_score=self.p.min_score), settings,
                                      count=self.count)
        self.advertise(FacesFrame)
        # Best effort (SENSOR_DATA): receives from best-effort camera drivers and our reliable camera alike.
        self.create_subscription(Image, 'camera/image_raw', self.on_image, SENSOR_DATA)
        self.info_sub = None
        self._listen_for_camera_info()
        self.create_timer(INFO_RECHECK_S, self._listen_for_camera_info)
        if self.p.debug_save_dir:
            self.get_logger().warning(f'debug_save_dir is set: face crops are written to {self.p.debug_save_dir}')

    def _listen_for_camera_info(self) -> None:
        if self.info_sub is None:
            self.info_sub = self.create_subscription(CameraInfo, 'camera/camera_info', self.on_camera_info,
                                                     SENSOR_DATA)

    def on_camera_info(self, msg: CameraInfo) -> None:
        if self.info_sub is None:
            return
        problem = intrinsics_problem(msg.k, msg.width, msg.height, self.p.max_image_pixels)
        if problem:
            self.drop('camera_info', problem)      # keeps listening (and any intrinsics already in use)
            return
        if self.pipeline.intrinsics != (float(msg.k[0]), msg.width, msg.height):
            self.pipeline.use_camera_info(msg.k[0], msg.width, msg.height)
            self.count('camera_info_taken')
        # Intrinsics do not change with every frame: stop taking 30 callbacks a second for them.
        self.destroy_subscription(self.info_sub)
        self.info_sub = None

    def on_image(self, msg: Image) -> None:
        started = time.perf_counter()
        if msg.width * msg.height > self.p.max_image_pixels:   # from the header: nothing converted yet
            self.drop('image', f'{msg.width}x{msg.height} is larger than max_image_pixels')
            return
        stamp = msg.header.stamp.sec + msg.header.stamp.nanosec * 1e-9
        try:   # ImageError, a bad stamp or frame_id: all ValueErrors, all a counted drop
            frame = self.pipeline.process(rgb_from_msg(msg), stamp, msg.header.frame_id, started)
        except ValueError as exc:
            self.drop('image', str(exc))
            return
        if self.pipeline.camera_fx is None:
            self._listen_for_camera_info()      # another resolution: wait for its CameraInfo
        self.publish(frame)

    def diagnostic_state(self):
        last = self.pipeline.last
        if last is None:
            return WARN, 'no camera frames received yet', {'model': self.p.model}
        tracked = sum(face.confirmed for face in last.faces)
        return OK, f'{tracked} visitor(s) tracked', {
            'tracked_faces': tracked, 'detect_ms': f'{last.detect_ms:.1f}', 'process_ms': f'{last.process_ms:.1f}',
            'model': self.p.model}

    def close(self) -> None:
        self.pipeline.close()


def main(args=None) -> int:
    return run_node(FaceDetectorNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
