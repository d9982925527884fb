"""The simulated microphone: hall noise, visitors speaking, and the robot's own voice from its speaker.

Mixing the robot's own speech in is deliberate: the asr node must not transcribe the robot, and the
simulation proves it does not (the mute gate), instead of sparing it the echo.
"""
from __future__ import annotations

import numpy as np

from caexpo_robot.listening.audio import SAMPLE_RATE


class SimulatedMicrophone:
    def __init__(self, noise_dbfs: float = -60.0, seed: int = 7) -> None:
        self.noise_amplitude = 32768.0 * 10 ** (noise_dbfs / 20.0)
        self.seed = seed
        self._sources: list[tuple[int, np.ndarray, str | None]] = []   # (start sample, float samples, key)

    def add(self, start_s: float, samples: np.ndarray, gain: float = 1.0, key: str | None = None) -> float:
        """Schedule int16 16 kHz audio at sim time start_s; returns its duration in seconds. `key` names
        it for `stop` (the robot's utterances, which can be cut short)."""
        self._sources.append((int(round(start_s * SAMPLE_RATE)), samples.astype(np.float32) * gain, key))
        return len(samples) / SAMPLE_RATE

    def stop(self, key: str, at_s: float) -> None:
        """The source `key` falls silent at sim time at_s (a cancelled or interrupted utterance stops
        coming out of the speaker, so it must stop reaching the microphone too)."""
        cut = int(round(at_s * SAMPLE_RATE))
        self._sources = [(begin, samples[:max(0, cut - begin)] if name == key else samples, name)
                         for begin, samples, name in self._sources]

    def chunk(self, start_s: float, duration_s: float) -> bytes:
        """Mixed s16le audio of [start_s, start_s + duration_s): deterministic for a given seed."""
        first = int(round(start_s * SAMPLE_RATE))
        count = int(round(duration_s * SAMPLE_RATE))
        noise = np.random.default_rng((self.seed, first)).normal(0.0, self.noise_amplitude, count)
        mix = noise.astype(np.float32)
        keep = []
        for begin, samples, key in self._sources:
            end = begin + len(samples)
            if end <= first:
                continue            # finished: forget it (memory stays flat over a long run)
            keep.append((begin, samples, key))
            lo, hi = max(begin, first), min(end, first + count)
            if lo < hi:
                mix[lo - first:hi - first] += samples[lo - begin:hi - begin]
        self._sources = keep
        return np.clip(np.round(mix), -32768, 32767).astype('<i2').tobytes()
