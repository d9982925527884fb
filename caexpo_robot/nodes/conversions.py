"""sensor_msgs <-> numpy, in one place (cv_bridge is not available from a registry)."""
from __future__ import annotations

import math

import numpy as np
from sensor_msgs.msg import CameraInfo, Image

from caexpo_robot.perception.image import image_from_buffer


def image_msg(rgb: np.ndarray, stamp, frame_id: str) -> Image:
    msg = Image(height=int(rgb.shape[0]), width=int(rgb.shape[1]), encoding='rgb8', is_bigendian=0,
                step=int(rgb.shape[1]) * 3)
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.data = np.ascontiguousarray(rgb, dtype=np.uint8).tobytes()
    return msg


def rgb_from_msg(msg: Image) -> np.ndarray:
    """RGB frame of an Image message; ImageError (a ValueError) for a malformed one."""
    return image_from_buffer(msg.encoding, msg.height, msg.width, msg.step, msg.data)


def camera_info_msg(width: int, height: int, hfov_deg: float, stamp, frame_id: str) -> CameraInfo:
    """A pinhole model from the horizontal field of view, for an uncalibrated camera."""
    fx = (width / 2.0) / math.tan(math.radians(hfov_deg) / 2.0)
    cx, cy = width / 2.0, height / 2.0
    msg = CameraInfo(width=width, height=height, distortion_model='plumb_bob', d=[0.0] * 5,
                     k=[fx, 0.0, cx, 0.0, fx, cy, 0.0, 0.0, 1.0],
                     r=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0],
                     p=[fx, 0.0, cx, 0.0, 0.0, fx, cy, 0.0, 0.0, 0.0, 1.0, 0.0])
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    return msg
