"""Utterance boundaries from the audio level, and the mute gate for the robot's own voice.

Both take timestamps (seconds, any clock: the simulator's or the audio's) as arguments.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from caexpo_robot.listening.config import EndpointConfig

IDLE, START, CONTINUE, END = 'idle', 'start', 'continue', 'end'


@dataclass(frozen=True)
class SegmentStep:
    state: str  # IDLE (no utterance), START (opened with this chunk), CONTINUE, END (closed after it)
    voiced: bool
    reason: str = ''  # for END: 'silence' or 'max_length'


class UtteranceSegmenter:
    """Energy endpointing with an adaptive noise floor.

    A chunk is voiced when louder than max(min_speech_dbfs, noise floor + margin). An utterance
    opens once start_speech_ms of voiced audio accumulated (leaky: unvoiced chunks drain it), and
    closes after end_silence_s unvoiced or at max_utterance_s. The floor follows unvoiced chunks;
    after a max-length cut it jumps to the cut utterance's 20th-percentile level, so a hall that
    got permanently louder does not keep re-opening utterances.
    """

    def __init__(self, config: EndpointConfig | None = None) -> None:
        self.config = config or EndpointConfig()
        self.noise_floor = self.config.noise_floor_init_dbfs
        self.reset()

    def reset(self) -> None:
        self.in_utterance = False
        self._voiced_s = 0.0
        self._silence_s = 0.0
        self._utterance_s = 0.0
        self._levels: list[float] = []

    def threshold(self) -> float:
        return max(self.config.min_speech_dbfs, self.noise_floor + self.config.speech_margin_db)

    def _track_floor(self, level: float, duration: float) -> None:
        rate = duration / self.config.noise_adapt_s if level >= self.noise_floor else duration / 0.2
        self.noise_floor += min(1.0, rate) * (level - self.noise_floor)
        self.noise_floor = float(np.clip(self.noise_floor, -100.0, -10.0))

    def push(self, level_dbfs: float, duration_s: float) -> SegmentStep:
        cfg = self.config
        voiced = level_dbfs > self.threshold()
        if not voiced:
            self._track_floor(level_dbfs, duration_s)
        if not self.in_utterance:
            self._voiced_s = (self._voiced_s + duration_s if voiced
                              else max(0.0, self._voiced_s - duration_s))
            if self._voiced_s * 1000.0 >= cfg.start_speech_ms:
                self.in_utterance = True
                self._silence_s = 0.0
                self._utterance_s = self._voiced_s
                self._levels = [level_dbfs]
                return SegmentStep(START, voiced)
            return SegmentStep(IDLE, voiced)
        self._utterance_s += duration_s
        self._levels.append(level_dbfs)
        self._silence_s = 0.0 if voiced else self._silence_s + duration_s
        if self._silence_s >= cfg.end_silence_s:
            self.reset()
            return SegmentStep(END, voiced, 'silence')
        if self._utterance_s >= cfg.max_utterance_s:
            floor = float(np.percentile(self._levels, 20))
            self.noise_floor = max(self.noise_floor, min(-10.0, floor))
            self.reset()
            return SegmentStep(END, voiced, 'max_length')
        return SegmentStep(CONTINUE, voiced)


class MuteGate:
    """Discards audio while the robot speaks and for `tail_s` after, so it never hears itself.

    `set_speaking` comes from the TTS 'speaking' flag; `admits(t)` says whether a chunk starting
    at t may reach the recognizers: not while speaking, nor if it starts within the tail.
    """

    def __init__(self, tail_s: float = 0.3) -> None:
        if tail_s < 0:
            raise ValueError('tail_s must be >= 0')
        self.tail_s = tail_s
        self.speaking = False
        self._released_at = float('-inf')

    def set_speaking(self, speaking: bool, t: float) -> None:
        if not speaking and self.speaking:
            self._released_at = t
        self.speaking = bool(speaking)

    def admits(self, t: float) -> bool:
        return not self.speaking and t >= self._released_at + self.tail_s
