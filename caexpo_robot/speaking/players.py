"""Where synthesized speech goes: the robot's sound device, or nowhere but a WAV file (simulation).

A player is asked to start an utterance and, on every tick, whether it has finished; it never blocks.
Both are told the time (`now`, on the pipeline's clock); only the ClockPlayer needs it.
"""
from __future__ import annotations

import numpy as np


class PlayerError(RuntimeError):
    """The output cannot play (no sound device, driver error)."""


class ClockPlayer:
    """Simulation: an utterance lasts its audio duration on the clock it is given (the node's sim time)."""

    def __init__(self) -> None:
        self._ends_at: float | None = None

    def start(self, samples: np.ndarray, sample_rate: int, now: float) -> None:
        self._ends_at = now + len(samples) / float(sample_rate)

    def finished(self, now: float) -> bool:
        return self._ends_at is None or now >= self._ends_at

    def stop(self) -> None:
        self._ends_at = None


class SoundDevicePlayer:
    """A robot: plays through PortAudio with sounddevice; stop() cuts the utterance at once."""

    def __init__(self, device: str | int | None = None) -> None:
        try:
            import sounddevice
            sounddevice.query_devices(device, kind='output')
        except Exception as exc:  # OSError (no libportaudio), PortAudioError/ValueError (no such device)
            raise PlayerError(f'no sound output device{f" {device!r}" if device not in (None, "") else ""}: '
                              f'{exc}') from None
        self._sd = sounddevice
        self.device = device if device not in ('',) else None
        self._playing = False

    def start(self, samples: np.ndarray, sample_rate: int, now: float = 0.0) -> None:
        try:
            self._sd.play(samples, sample_rate, device=self.device)
        except Exception as exc:
            raise PlayerError(f'cannot play: {exc}') from None
        self._playing = True

    def finished(self, now: float = 0.0) -> bool:
        if not self._playing:
            return True
        stream = self._sd.get_stream()
        self._playing = bool(stream and stream.active)
        return not self._playing

    def stop(self) -> None:
        if self._playing:
            self._sd.stop()
        self._playing = False
