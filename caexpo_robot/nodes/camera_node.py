"""camera: publishes frames from a V4L2 camera, a video file or an image folder at a set rate.

Shutdown: whoever shuts the context down (rclpy's signal handler, a test, a launch) may do it while
the frame callback runs, reading a frame takes milliseconds. The callback does nothing once the
context is down, and a publish that loses the race to the shutdown is ignored, not raised; close()
cancels the timer before it releases the source.
"""
from __future__ import annotations

import time

from rclpy.exceptions import InvalidHandle
from rclpy.impl.implementation_singleton import rclpy_implementation
from sensor_msgs.msg import CameraInfo, Image

from caexpo_robot.camera.sources import MAX_SIDE, CameraError, ReconnectingSource, make_source
from caexpo_robot.nodes.common import CAMERA_OUT, ERROR, OK, WARN, CaexpoNode, Param, Range, run_node
from caexpo_robot.nodes.conversions import camera_info_msg, image_msg

# A context shut down under a running callback: the publisher is destroyed (InvalidHandle) or its
# context is invalid (RCLError "publisher's context is invalid").
SHUTDOWN_ERRORS = (InvalidHandle, rclpy_implementation.RCLError)


class CameraNode(CaexpoNode):
    PARAMS = (
        Param('source', '/dev/video0', 'V4L2 device (/dev/videoN or N), a video file, or a folder of images'),
        Param('fps', 15.0, 'frames published per second', check=Range(gt=0, le=120)),
        Param('width', 640, 'frame width in pixels (frames are resized; 0 keeps the source size)',
              check=Range(ge=0, le=MAX_SIDE)),
        Param('height', 480, 'frame height in pixels (0 keeps the source size)', check=Range(ge=0, le=MAX_SIDE)),
        Param('hfov_deg', 60.0, 'horizontal field of view, for the published CameraInfo', check=Range(gt=0, lt=180)),
        Param('frame_id', 'camera_optical_frame', 'frame_id of the published images'),
        Param('retry_s', 2.0, 'seconds between attempts to reopen a lost or missing camera', check=Range(gt=0)),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('camera', **kwargs)
        try:
            source = make_source(self.p.source, width=self.p.width, height=self.p.height)
        except CameraError as exc:
            raise SystemExit(f'camera: {exc}') from None
        self.source = ReconnectingSource(source, self.p.retry_s, time.monotonic)
        self._info = None   # CameraInfo, rebuilt only when the frame size changes
        self.image_pub = self.create_publisher(Image, 'camera/image_raw', CAMERA_OUT)
        self.info_pub = self.create_publisher(CameraInfo, 'camera/camera_info', CAMERA_OUT)
        self.timer = self.create_timer(1.0 / self.p.fps, self.publish_frame)
        self.get_logger().info(f'publishing {source.describe()} at {self.p.fps} fps')

    def publish_frame(self) -> None:
        if not self.context.ok():
            return
        was_connected = self.source.connected
        frame = self.source.read()
        if frame is None:
            if was_connected or self.source.failures == 1:
                self.get_logger().error(f'{self.source.last_error}; retrying every {self.p.retry_s} s')
            self.count('frames_missed')
            return
        if not was_connected:
            self.get_logger().info(f'{self.source.source.describe()} is delivering frames')
        stamp = self.get_clock().now().to_msg()
        size = (frame.shape[1], frame.shape[0])
        if self._info is None or (self._info.width, self._info.height) != size:
            self._info = camera_info_msg(size[0], size[1], self.p.hfov_deg, stamp, self.p.frame_id)
        self._info.header.stamp = stamp
        image = image_msg(frame, stamp, self.p.frame_id)
        if self._send(self.image_pub, image) and self._send(self.info_pub, self._info):
            self.count('frames_published')

    def _send(self, publisher, msg) -> bool:
        """Publish unless the context is shutting down; False if the frame was not sent."""
        try:
            publisher.publish(msg)
            return True
        except SHUTDOWN_ERRORS:
            if self.context.ok():   # waits for a shutdown in progress to finish
                raise
            return False            # the shutdown won the race between our check and the publish

    def diagnostic_state(self):
        if self.source.connected:
            return OK, f'streaming {self.source.source.describe()}', {}
        level = ERROR if self.source.failures > 3 else WARN
        return level, f'no frames: {self.source.last_error or "not opened yet"}', {}

    def close(self) -> None:
        try:
            self.timer.cancel()     # no frame callback may run (and reopen the camera) once it is released
        except InvalidHandle:
            pass                    # the context's shutdown destroyed the timer already: it cannot fire
        self.source.close()


def main(args=None) -> int:
    return run_node(CameraNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
