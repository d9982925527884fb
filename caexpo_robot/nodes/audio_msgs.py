"""Audio chunks on ROS topics: std_msgs/UInt8MultiArray, little-endian signed 16-bit mono PCM.

There is no audio message in ROS 2 core, so the format travels in the layout: one dimension labelled
`s16le_mono_<rate>hz`, whose size is the number of samples. The robot format is 16 kHz; 100 ms chunks
(3200 bytes) by default.

The tts node's playback reference (topic `tts/playback`, what the speaker plays, for the echo canceller)
is the same message with two more dimensions, both of size 1, carrying what a chunk does not need:

    dim[0]  label 's16le_mono_16000hz'   size = number of samples, stride = number of bytes
    dim[1]  label 'played_from_<ns>'     the play start on the tts node's clock, integer nanoseconds
    dim[2]  label 'utterance_<id>'       the utterance id (as in its SpeechEvents)

An audio chunk reader (`audio_from_msg`) refuses it (three dimensions), so neither can be taken for the
other. `playback_msg` / `playback_from_msg` write and read it; the audio is always 16 kHz.
"""
from __future__ import annotations

import re

from rclpy.qos import QoSProfile, ReliabilityPolicy
from std_msgs.msg import MultiArrayDimension, UInt8MultiArray

from caexpo_robot.listening.audio import SAMPLE_RATE

_LABEL = re.compile(r'^s16le_mono_(\d+)hz$')
_PLAYED_FROM = re.compile(r'^played_from_(\d+)$')
_UTTERANCE = 'utterance_'

PLAYBACK_TOPIC = 'tts/playback'
# Reliable: a lost reference is an utterance the echo canceller cannot cancel. Depth 5: each message is
# a whole utterance (~32 kB per second of speech) and one arrives per utterance, so 5 is plenty.
PLAYBACK_QOS = QoSProfile(depth=5, reliability=ReliabilityPolicy.RELIABLE)


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


def playback_msg(pcm: bytes, t_start: float, utterance_id: str) -> UInt8MultiArray:
    """The playback reference: 16 kHz s16le mono `pcm` that starts playing at `t_start` (seconds on the
    tts node's clock) for utterance `utterance_id`. ValueError for an odd byte count, a negative or
    non-finite time or an empty id."""
    if len(pcm) % 2:
        raise ValueError(f'playback audio: odd byte count {len(pcm)} (need s16le samples)')
    if not (t_start >= 0.0 and t_start < float('inf')):
        raise ValueError(f'playback start time must be finite and >= 0, got {t_start}')
    if not utterance_id:
        raise ValueError('playback needs an utterance id')
    msg = audio_msg(pcm, SAMPLE_RATE)
    msg.layout.dim.append(MultiArrayDimension(label=f'played_from_{int(round(t_start * 1e9))}', size=1, stride=1))
    msg.layout.dim.append(MultiArrayDimension(label=f'{_UTTERANCE}{utterance_id}', size=1, stride=1))
    return msg


def playback_from_msg(msg: UInt8MultiArray) -> tuple[bytes, float, str]:
    """(16 kHz s16le PCM, play start in seconds, utterance id); ValueError naming what is wrong with a
    layout that is not a playback reference."""
    dims = msg.layout.dim
    if len(dims) != 3:
        raise ValueError(f'playback layout must have 3 dimensions (s16le_mono_{SAMPLE_RATE}hz, '
                         f'played_from_<ns>, utterance_<id>), got {len(dims)}')
    if dims[0].label != f's16le_mono_{SAMPLE_RATE}hz':
        raise ValueError(f'playback audio label {dims[0].label!r} is not s16le_mono_{SAMPLE_RATE}hz')
    data = bytes(msg.data)
    if len(data) % 2 or dims[0].size != len(data) // 2:
        raise ValueError(f'playback audio: {len(data)} bytes do not hold the {dims[0].size} samples its '
                         'layout says')
    played = _PLAYED_FROM.match(dims[1].label)
    if not played:
        raise ValueError(f'playback time label {dims[1].label!r} is not played_from_<integer ns>')
    if not dims[2].label.startswith(_UTTERANCE) or len(dims[2].label) == len(_UTTERANCE):
        raise ValueError(f'playback id label {dims[2].label!r} is not utterance_<id>')
    return data, int(played.group(1)) * 1e-9, dims[2].label[len(_UTTERANCE):]
