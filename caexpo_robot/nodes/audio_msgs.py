"""Audio chunks on ROS topics: std_msgs/UInt8MultiArray, little-endian signed 16-bit mono PCM.

There is no audio message in ROS 2 core, so the format travels in the layout: one dimension labelled
`s16le_mono_<rate>hz`, whose size is the number of samples. The robot format is 16 kHz; 100 ms chunks
(3200 bytes) by default.
"""
from __future__ import annotations

import re

from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

from caexpo_robot.listening.audio import SAMPLE_RATE

_LABEL = re.compile(r'^s16le_mono_(\d+)hz$')


def audio_msg(data: bytes, sample_rate: int = SAMPLE_RATE) -> UInt8MultiArray:
    msg = UInt8MultiArray()
    msg.layout.dim = [MultiArrayDimension(label=f's16le_mono_{sample_rate}hz', size=len(data) // 2,
                                          stride=len(data))]
    msg.data = bytes(data)
    return msg


def audio_from_msg(msg: UInt8MultiArray) -> tuple[bytes, int]:
    """(PCM bytes, sample rate); ValueError when the layout does not say it is s16le mono audio."""
    if len(msg.layout.dim) != 1:
        raise ValueError('audio chunk layout must have exactly one dimension (s16le_mono_<rate>hz)')
    match = _LABEL.match(msg.layout.dim[0].label)
    if not match:
        raise ValueError(f'audio chunk label {msg.layout.dim[0].label!r} is not s16le_mono_<rate>hz')
    return bytes(msg.data), int(match.group(1))
