"""The simulated microphone: hall noise, visitors speaking, and the robot's own voice from its speaker.

Mixing the robot's own speech in is deliberate: the asr node must not transcribe the robot, and the
simulation proves it does not (echo cancelling or the mute gate), instead of sparing it the echo.

The robot's voice reaches the microphone through an `EchoPath`: a delay (sound travelling from the
speaker plus the sound devices' buffers), an attenuation, and a short room response (the direct sound,
a few early reflections, an exponentially decaying diffuse tail), applied by convolution. It is
deterministic for its seed, and no longer than an echo canceller's filter (250 ms) can model.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from caexpo_robot.listening.audio import SAMPLE_RATE

REFLECTIONS = 4                 # early reflections (walls, the robot's body, the table)
REFLECTIONS_WITHIN_S = 0.04     # ... arriving within this time after the direct sound
TAIL_LEVEL = 0.03               # diffuse tail amplitude relative to the direct sound, at its start


@dataclass(frozen=True)
class EchoPath:
    """Loudspeaker to microphone. `gain` is the path's overall amplitude gain (the L2 norm of its impulse
    response: speech comes out about 20·log10(gain) dB quieter); `reverb_s` is the tail's length, where it
    has decayed by 60 dB (a small RT60: the microphone is close to the speaker)."""
    delay_s: float = 0.025
    gain: float = 0.3
    reverb_s: float = 0.15
    seed: int = 11

    def __post_init__(self) -> None:
        if not 0.0 <= self.delay_s <= 1.0:
            raise ValueError(f'delay_s must be within 0-1 s, got {self.delay_s}')
        if not 0.0 < self.gain <= 4.0:
            raise ValueError(f'gain must be within (0, 4], got {self.gain}')
        if not 0.0 <= self.reverb_s <= 1.0:
            raise ValueError(f'reverb_s must be within 0-1 s, got {self.reverb_s}')

    @cached_property
    def impulse_response(self) -> np.ndarray:
        """float64, delay_s + reverb_s long (+1 sample); the direct sound is its largest tap."""
        delay, tail = int(round(self.delay_s * SAMPLE_RATE)), int(round(self.reverb_s * SAMPLE_RATE))
        response = np.zeros(delay + tail + 1)
        response[delay] = 1.0
        rng = np.random.default_rng(self.seed)
        if tail:
            span = max(1, min(tail, int(REFLECTIONS_WITHIN_S * SAMPLE_RATE)))
            offsets = np.sort(rng.integers(max(1, span // 20), span + 1, REFLECTIONS))
            for i, offset in enumerate(offsets):
                response[delay + offset] += rng.choice((-1.0, 1.0)) * 0.5 * 0.7 ** i
            decay = np.exp(-np.log(1000.0) * np.arange(1, tail + 1) / (self.reverb_s * SAMPLE_RATE))   # -60 dB
            response[delay + 1:] += TAIL_LEVEL * rng.normal(0.0, 1.0, tail) * decay
        return response * (self.gain / np.linalg.norm(response))

    def apply(self, samples: np.ndarray) -> np.ndarray:
        """What the microphone hears of `samples` played by the speaker (from the same instant): float32,
        len(samples) + len(impulse_response) - 1 long (the room rings on after the speaker stops)."""
        from scipy.signal import fftconvolve
        samples = np.asarray(samples, dtype=np.float64)
        if samples.size == 0:
            return np.zeros(0, dtype=np.float32)
        return fftconvolve(samples, self.impulse_response).astype(np.float32)


class SimulatedMicrophone:
    def __init__(self, noise_dbfs: float = -60.0, seed: int = 7, echo: EchoPath = EchoPath()) -> None:
        self.noise_amplitude = 32768.0 * 10 ** (noise_dbfs / 20.0)
        self.seed = seed
        self.echo = echo
        # (start sample, float samples as heard, key, what the speaker plays or None for other sources)
        self._sources: list[tuple[int, np.ndarray, str | None, np.ndarray | None]] = []

    def add(self, start_s: float, samples: np.ndarray, gain: float = 1.0, key: str | None = None) -> float:
        """Schedule int16 16 kHz audio heard directly (a visitor) at sim time start_s; returns its
        duration in seconds. `key` names it for `stop`."""
        self._sources.append((int(round(start_s * SAMPLE_RATE)), samples.astype(np.float32) * gain, key, None))
        return len(samples) / SAMPLE_RATE

    def play(self, start_s: float, samples: np.ndarray, key: str | None = None) -> float:
        """The robot's speaker plays int16 16 kHz `samples` from sim time start_s: heard through the echo
        path. Returns the played duration in seconds."""
        played = np.asarray(samples, dtype=np.int16)
        self._sources.append((int(round(start_s * SAMPLE_RATE)), self.echo.apply(played), key, played))
        return len(samples) / SAMPLE_RATE

    def stop(self, key: str, at_s: float) -> None:
        """The source `key` falls silent at sim time at_s (a cancelled or interrupted utterance stops
        coming out of the speaker, so it must stop reaching the microphone too). What the speaker played
        before at_s still rings through the echo path for its delay and tail."""
        cut = int(round(at_s * SAMPLE_RATE))
        kept = []
        for begin, heard, name, played in self._sources:
            if name == key and played is not None:
                played = played[:max(0, cut - begin)]
                heard = self.echo.apply(played)
            elif name == key:
                heard = heard[:max(0, cut - begin)]
            kept.append((begin, heard, name, played))
        self._sources = kept

    def chunk(self, start_s: float, duration_s: float) -> bytes:
        """Mixed s16le audio of [start_s, start_s + duration_s): deterministic for a given seed."""
        first = int(round(start_s * SAMPLE_RATE))
        count = int(round(duration_s * SAMPLE_RATE))
        noise = np.random.default_rng((self.seed, first)).normal(0.0, self.noise_amplitude, count)
        mix = noise.astype(np.float32)
        keep = []
        for source in self._sources:
            begin, samples = source[0], source[1]
            end = begin + len(samples)
            if end <= first:
                continue            # finished: forget it (memory stays flat over a long run)
            keep.append(source)
            lo, hi = max(begin, first), min(end, first + count)
            if lo < hi:
                mix[lo - first:hi - first] += samples[lo - begin:hi - begin]
        self._sources = keep
        return np.clip(np.round(mix), -32768, 32767).astype('<i2').tobytes()
