"""Voice-activity detection with Silero VAD (the ONNX model faster-whisper ships), and utterance
segmenters that decide speech by it: 'silero' (VAD alone) or 'combined' (energy AND VAD to open,
VAD to close), beside today's energy endpointer ('energy').

`SileroVad` streams: one 512-sample frame (32 ms at 16 kHz) per call; the model's LSTM state and
the 64-sample context (the previous frame's tail) are carried between calls, which gives exactly
the probabilities faster-whisper's batched `SileroVADModel` computes over a whole file.

The segmenters return one `endpoint.SegmentStep` per chunk (IDLE, START, CONTINUE, END with reason
'silence' or 'max_length'), like `UtteranceSegmenter`; chunks of any length are cut into frames
internally (the remainder waits for the next chunk). Preroll stays the caller's job
(`EndpointConfig.preroll_ms`, as the ASR engine does today). Time comes from the audio itself
(samples / 16 kHz), so everything is deterministic and clock-free.
"""
from __future__ import annotations

import importlib.resources
from collections import Counter
from pathlib import Path

import numpy as np

from caexpo_robot.listening.audio import INT16_FULL_SCALE, SAMPLE_RATE, rms_dbfs
from caexpo_robot.listening.config import EndpointConfig, VadConfig
from caexpo_robot.listening.endpoint import CONTINUE, END, IDLE, START, SegmentStep, UtteranceSegmenter

FRAME_SAMPLES = 512          # the model's window at 16 kHz
CONTEXT_SAMPLES = 64         # tail of the previous frame prepended to each window
FRAME_S = FRAME_SAMPLES / SAMPLE_RATE
STATE_SHAPE = (1, 1, 128)


class VadInputError(ValueError):
    """A frame or chunk the VAD cannot use; `reason` is a short key for drop counters."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def default_model_path() -> Path:
    """The silero_vad*.onnx inside the installed faster_whisper package (newest version if several)."""
    try:
        assets = importlib.resources.files('faster_whisper') / 'assets'
    except ModuleNotFoundError as exc:
        raise FileNotFoundError('faster_whisper is not installed: it ships the Silero VAD model') from exc
    found = sorted((entry for entry in assets.iterdir()
                    if entry.name.startswith('silero_vad') and entry.name.endswith('.onnx')),
                   key=lambda entry: entry.name)
    if not found:
        raise FileNotFoundError(f'no silero_vad*.onnx in {assets}')
    return Path(str(found[-1]))


def as_float_samples(samples: object, what: str = 'audio') -> np.ndarray:
    """int16 (scaled by 1/32768) or float (taken as [-1, 1]) 1-D samples as float32; VadInputError else."""
    if not isinstance(samples, np.ndarray):
        raise VadInputError(f'{what}: need a numpy array of int16 or float samples, got {type(samples).__name__}',
                            'not_array')
    if samples.ndim != 1:
        raise VadInputError(f'{what}: need 1-D mono samples, got shape {samples.shape}', 'shape')
    if samples.dtype == np.int16:
        return samples.astype(np.float32) / np.float32(INT16_FULL_SCALE)
    if samples.dtype in (np.float32, np.float64):
        out = samples.astype(np.float32)
        if not np.all(np.isfinite(out)):
            raise VadInputError(f'{what}: contains NaN or infinite samples', 'not_finite')
        return out
    raise VadInputError(f'{what}: dtype {samples.dtype} not supported (int16, float32 or float64)', 'dtype')


def _chunk(samples: object, sample_rate: int, drops: Counter) -> np.ndarray:
    """A segmenter's chunk as float32 samples; VadInputError (counted in drops by reason) if unusable."""
    try:
        if sample_rate != SAMPLE_RATE:
            raise VadInputError(f'audio chunk at {sample_rate} Hz: need {SAMPLE_RATE} Hz', 'sample_rate')
        chunk = as_float_samples(samples, 'audio chunk')
        if chunk.size == 0:
            raise VadInputError('audio chunk: empty', 'empty')
    except VadInputError as exc:
        drops[exc.reason] += 1
        raise
    return chunk


class SileroVad:
    """Streaming Silero VAD: `probability(frame)` for consecutive 512-sample frames at 16 kHz.

    One onnxruntime session with one thread. Not thread-safe (one stream per instance); `reset()`
    between unrelated streams (a new visitor, audio after a gap).
    """

    def __init__(self, model_path: str | Path | None = None, sample_rate: int = SAMPLE_RATE) -> None:
        if sample_rate != SAMPLE_RATE:
            raise VadInputError(f'Silero VAD runs at {SAMPLE_RATE} Hz here, got {sample_rate} Hz', 'sample_rate')
        import onnxruntime

        self.model_path = Path(model_path) if model_path is not None else default_model_path()
        if not self.model_path.is_file():
            raise FileNotFoundError(f'Silero VAD model not found: {self.model_path}')
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        self.session = onnxruntime.InferenceSession(str(self.model_path), sess_options=options,
                                                    providers=['CPUExecutionProvider'])
        self.frames = 0
        self.reset()

    def reset(self) -> None:
        self._h = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._c = np.zeros(STATE_SHAPE, dtype=np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, dtype=np.float32)

    def probability(self, frame: np.ndarray) -> float:
        """Speech probability of the next 512-sample frame (int16, or float in [-1, 1])."""
        samples = as_float_samples(frame, 'VAD frame')
        if samples.size != FRAME_SAMPLES:
            raise VadInputError(f'VAD frame: need {FRAME_SAMPLES} samples (32 ms at 16 kHz), got {samples.size}',
                                'length')
        window = np.concatenate([self._context, samples])[None, :]
        prob, h, c = self.session.run(None, {'input': window, 'h': self._h, 'c': self._c})
        self._h, self._c = h, c
        self._context = samples[-CONTEXT_SAMPLES:].copy()
        self.frames += 1
        return float(np.asarray(prob).ravel()[0])


class SileroSegmenter:
    """Utterance boundaries from the Silero speech probability, with hysteresis.

    Per 32 ms frame: speech when p >= threshold, silence when p < neg_threshold. An utterance opens
    once start_speech_ms of speech accumulated (leaky: other frames drain it); in 'combined' mode a
    frame only counts towards opening when the energy endpointer (EndpointConfig's adaptive noise
    floor and min_speech_dbfs, with combined_margin_db as its margin) also calls it voiced, so loud
    non-speech and faint far-away talk do not open; with combined_end='vad_or_energy' a frame whose
    level fell back to the floor also counts as silence for the end (closes sooner under steady
    background talk, but may cut soft final syllables: see bench/bench_vad.py); `end_on_energy` may be
    switched per utterance (the ASR engine does, by which recognizer hears it).
    It closes after end_silence_s of silence (a frame >= threshold restarts the count;
    in-between frames continue a count already running), or at max_utterance_s; after a max-length
    cut it re-opens only once a silence frame was seen (a hall of steady chatter is not one endless
    run of 12 s utterances).

    `push(samples)` takes one chunk of int16 (or float) mono 16 kHz samples of any length and returns
    a SegmentStep for it; bad chunks raise VadInputError, are counted in `drops`, and leave the
    state untouched.
    """

    def __init__(self, config: VadConfig | None = None, endpoint: EndpointConfig | None = None,
                 vad: SileroVad | None = None) -> None:
        self.config = config or VadConfig()
        if self.config.mode == 'energy':
            raise ValueError("mode 'energy' is the energy endpointer: use make_segmenter()")
        self.vad = vad or SileroVad(self.config.model)
        self.energy = None
        if self.config.mode == 'combined':
            endpoint = (endpoint or EndpointConfig()).model_copy(
                update={'speech_margin_db': self.config.combined_margin_db})
            self.energy = UtteranceSegmenter(endpoint)
        self.end_on_energy = self.config.mode == 'combined' and self.config.combined_end == 'vad_or_energy'
        self.drops: Counter = Counter()
        self.last_probability = 0.0
        self._pending = np.zeros(0, dtype=np.float32)
        self._armed = True
        self.reset()

    def reset(self) -> None:
        """Forget any utterance in progress and the model state (the energy noise floor is kept)."""
        self.vad.reset()
        self._pending = np.zeros(0, dtype=np.float32)
        self.in_utterance = False
        self._voiced_s = 0.0
        self._silence_s = 0.0
        self._utterance_s = 0.0
        self._armed = True
        if self.energy is not None:
            self.energy.reset()

    @property
    def trailing_silence_s(self) -> float:
        """Silence since the last speech frame of the open utterance (frame-accurate, 32 ms)."""
        return self._silence_s if self.in_utterance else 0.0

    def _close(self) -> None:
        self.in_utterance = False
        self._voiced_s = 0.0
        self._silence_s = 0.0
        self._utterance_s = 0.0

    def push(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SegmentStep:
        chunk = _chunk(samples, sample_rate, self.drops)
        buffered = np.concatenate([self._pending, chunk])
        usable = buffered.size - buffered.size % FRAME_SAMPLES
        self._pending = buffered[usable:]
        opened = closed = False
        reason = ''
        any_voiced = False
        for start in range(0, usable, FRAME_SAMPLES):
            frame = buffered[start:start + FRAME_SAMPLES]
            prob = self.vad.probability(frame)
            self.last_probability = prob
            speech, silence = prob >= self.config.threshold, prob < self.config.neg_threshold
            if self.energy is not None:
                energy_voiced = self.energy.push(rms_dbfs(frame * INT16_FULL_SCALE), FRAME_S).voiced
            else:
                energy_voiced = True
            any_voiced |= speech
            if not self.in_utterance:
                if silence:
                    self._armed = True
                counts = speech and energy_voiced and self._armed and not closed
                self._voiced_s = self._voiced_s + FRAME_S if counts else max(0.0, self._voiced_s - FRAME_S)
                if self._voiced_s * 1000.0 >= self.config.start_speech_ms and counts:
                    self.in_utterance, opened = True, True
                    self._utterance_s = self._voiced_s
                    self._silence_s = 0.0
                continue
            self._utterance_s += FRAME_S
            if self.end_on_energy:
                speech, silence = speech and energy_voiced, silence or not energy_voiced
            if speech:
                self._silence_s = 0.0
            elif silence or self._silence_s > 0.0:
                self._silence_s += FRAME_S
            if opened:
                continue  # the chunk that opened reports START; a close waits for the next chunk
            if self._silence_s >= self.config.end_silence_s - 1e-9:
                self._close()
                closed, reason = True, 'silence'
            elif self._utterance_s >= self.config.max_utterance_s - 1e-9:
                self._close()
                self._armed = False
                closed, reason = True, 'max_length'
        if closed:
            return SegmentStep(END, any_voiced, reason)
        if opened:
            return SegmentStep(START, any_voiced)
        return SegmentStep(CONTINUE if self.in_utterance else IDLE, any_voiced)


class EnergySegmenter:
    """Today's energy endpointer (UtteranceSegmenter) behind the same `push(samples)` as SileroSegmenter."""

    def __init__(self, endpoint: EndpointConfig | None = None) -> None:
        self.energy = UtteranceSegmenter(endpoint)
        self.drops: Counter = Counter()

    @property
    def in_utterance(self) -> bool:
        return self.energy.in_utterance

    @property
    def trailing_silence_s(self) -> float:
        """Unvoiced time since the last voiced chunk of the open utterance."""
        return self.energy._silence_s if self.energy.in_utterance else 0.0

    def reset(self) -> None:
        self.energy.reset()

    def push(self, samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> SegmentStep:
        chunk = _chunk(samples, sample_rate, self.drops)
        return self.energy.push(rms_dbfs(chunk * INT16_FULL_SCALE), chunk.size / SAMPLE_RATE)


def make_segmenter(vad: VadConfig | None = None, endpoint: EndpointConfig | None = None,
                   model: SileroVad | None = None) -> EnergySegmenter | SileroSegmenter:
    """The segmenter `vad.mode` names, each with `push(samples) -> SegmentStep`, `reset()`, `in_utterance`."""
    vad = vad or VadConfig()
    if vad.mode == 'energy':
        return EnergySegmenter(endpoint)
    return SileroSegmenter(vad, endpoint, model)
