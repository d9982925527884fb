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
        self._sources: list[tuple[int, np.ndarray]] = []   # (start sample, float samples)

    def add(self, start_s: float, samples: np.ndarray, gain: float = 1.0) -> float:
        """Schedule int16 16 kHz audio at sim time start_s; returns its duration in seconds."""
        self._sources.append((int(round(start_s * SAMPLE_RATE)), samples.astype(np.float32) * gain))
        return len(samples) / SAMPLE_RATE

    def chunk(self, start_s: float, duration_s: float) -> bytes:
        """Mixed s16le audio of [start_s, start_s + duration_s): deterministic for a given seed."""
        first = int(round(start_s * SAMPLE_RATE))
        count = int(round(duration_s * SAMPLE_RATE))
        noise = np.random.default_rng((self.seed, first)).normal(0.0, self.noise_amplitude, count)
        mix = noise.astype(np.float32)
        keep = []
        for begin, samples in self._sources:
            end = begin + len(samples)
            if end <= first:
                continue            # finished: forget it (memory stays flat over a long run)
            keep.append((begin, samples))
            lo, hi = max(begin, first), min(end, first + count)
            if lo < hi:
                mix[lo - first:hi - first] += samples[lo - begin:hi - begin]
        self._sources = keep
        return np.clip(np.round(mix), -32768, 32767).astype('<i2').tobytes()
