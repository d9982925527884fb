"""microphone: captures the robot's sound device and publishes 16 kHz mono s16 chunks."""
from __future__ import annotations

import threading

from std_msgs.msg import UInt8MultiArray

from caexpo_robot.listening.audio import AudioDeviceError, MicrophoneCapture
from caexpo_robot.nodes.audio_msgs import audio_msg
from caexpo_robot.nodes.common import AUDIO, ERROR, OK, CaexpoNode, Param, Range, run_node


class MicrophoneNode(CaexpoNode):
    PARAMS = (
        Param('device', '', 'input device name (substring) or index; empty = the system default'),
        Param('chunk_ms', 100, 'milliseconds of audio per published chunk', check=Range(ge=10, le=1000)),
        Param('retry_s', 5.0, 'seconds between attempts to open a missing microphone', check=Range(gt=0)),
    )

    def __init__(self, **kwargs) -> None:
        super().__init__('microphone', **kwargs)
        device = self.p.device
        self.capture = MicrophoneCapture(int(device) if str(device).isdigit() else (device or None),
                                         chunk_ms=self.p.chunk_ms)
        self.problem = ''
        self.audio_pub = self.create_publisher(UInt8MultiArray, 'audio/chunks', AUDIO)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._capture_loop, name='microphone', daemon=True)
        self._thread.start()

    def _capture_loop(self) -> None:
        while not self._stop.is_set():
            if not self.capture.running:
                try:
                    self.capture.start()
                    self.problem = ''
                    self.get_logger().info('microphone open')
                except AudioDeviceError as exc:
                    if str(exc) != self.problem:
                        self.get_logger().error(f'{exc}; retrying every {self.p.retry_s} s')
                    self.problem = str(exc)
                    self._stop.wait(self.p.retry_s)
                    continue
            chunk = self.capture.read(timeout=0.2)
            if chunk:
                self.audio_pub.publish(audio_msg(chunk))
                self.count('chunks_published')

    def diagnostic_state(self):
        values = {'overflow_drops': self.capture.overflow_drops, 'device': self.p.device or 'default',
                  'portaudio_status_reports': self.capture.status_flags}
        if self.problem:
            return ERROR, f'no microphone: {self.problem}', values
        return OK, 'capturing', values

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)
        self.capture.stop()


def main(args=None) -> int:
    return run_node(MicrophoneNode, args)


if __name__ == '__main__':
    raise SystemExit(main())
