"""Echo cancelling and barge-in detection: the robot keeps listening while it speaks.

Three pure pieces (no ROS), wired into the asr node by the caller:

- `SpeexEchoCanceller`: Debian's libspeexdsp (apt package libspeexdsp1) through ctypes. An adaptive
  filter (speex_echo_cancellation) removes the robot's voice, as heard through its own microphone, using
  the audio the robot played as the reference; the preprocessor then suppresses the residual echo
  (speex_preprocess_run with the echo state). 16 kHz mono int16, 10 or 20 ms frames.
- `FarEndBuffer`: the robot's output, pushed with the time it plays, read back aligned with each
  microphone frame (silence where the robot played nothing).
- `BargeInDetector`: clock-fed; says "the visitor started speaking" on the cancelled signal, using any
  frame -> speech probability function (Silero, or the energy default here), with hysteresis, and an
  echo gate that predicts the residual echo level from the far end so the robot's own voice alone never
  fires it. It keeps the audio since the onset so the recognizer hears the whole answer. It is dormant
  (no probability call) while the robot has been silent for a while: a barge-in only matters over its voice.
- `SileroFrameProbability`: the detector's Silero probability for 20 ms frames (Silero scores 32 ms windows).

Typical use in the asr node (100 ms microphone chunks, times on the clock the tts node stamps its output
with):

    far_end = FarEndBuffer()                          # tts: far_end.push(pcm, t_play); on cut: stop(t)
    listener = EchoCancellingListener(SpeexEchoCanceller(), far_end, BargeInDetector(vad))
    clean, barge_in = listener.push(chunk, t)         # clean: for the recognizer; barge_in: stop talking,
                                                      # then feed barge_in.audio to the recognizer first
    listener.detector.reset()                         # when the robot starts its next utterance
"""
from __future__ import annotations

import ctypes
import ctypes.util
import math
import threading
import weakref
from collections import Counter, deque
from dataclasses import dataclass
from typing import Callable

import numpy as np

from caexpo_robot.listening.audio import INT16_FULL_SCALE, SAMPLE_RATE

APT_PACKAGE = 'libspeexdsp1'
LIBRARY_NAME = 'libspeexdsp.so.1'

# speex/speex_echo.h and speex/speex_preprocess.h (stable since speexdsp 1.2)
SPEEX_ECHO_SET_SAMPLING_RATE = 24
SPEEX_PREPROCESS_SET_DENOISE = 0
SPEEX_PREPROCESS_SET_NOISE_SUPPRESS = 18
SPEEX_PREPROCESS_SET_ECHO_SUPPRESS = 20
SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE = 22
SPEEX_PREPROCESS_SET_ECHO_STATE = 24

SpeechProbability = Callable[[np.ndarray], float]
MIN_ECHO_FRAMES = 10   # echo frames the barge-in detector's echo estimate needs (and keeps across silences)


class EchoLibraryError(OSError):
    """libspeexdsp cannot be loaded (the message names the apt package to install)."""


_LIBRARIES: dict[str, ctypes.CDLL] = {}
_LIBRARY_LOCK = threading.Lock()


def load_speexdsp(name: str = LIBRARY_NAME) -> ctypes.CDLL:
    """The speexdsp shared library with its function signatures declared (loaded once per name)."""
    with _LIBRARY_LOCK:
        if name in _LIBRARIES:
            return _LIBRARIES[name]
        candidates = [name]
        if name == LIBRARY_NAME:
            found = ctypes.util.find_library('speexdsp')
            if found and found != name:
                candidates.append(found)
        errors = []
        lib = None
        for candidate in candidates:
            try:
                lib = ctypes.CDLL(candidate)
                break
            except OSError as exc:
                errors.append(str(exc))
        if lib is None:
            raise EchoLibraryError(
                f'cannot load the speexdsp echo canceller ({"; ".join(errors)}); '
                f'install it with: sudo apt-get install {APT_PACKAGE}')
        try:
            _declare(lib)
        except AttributeError as exc:
            raise EchoLibraryError(f'{name} lacks the speexdsp echo functions ({exc}); '
                                   f'install Debian\'s {APT_PACKAGE}') from exc
        _LIBRARIES[name] = lib
        return lib


def _declare(lib: ctypes.CDLL) -> None:
    ptr, c_int = ctypes.c_void_p, ctypes.c_int
    lib.speex_echo_state_init.restype = ptr
    lib.speex_echo_state_init.argtypes = [c_int, c_int]
    lib.speex_echo_state_destroy.restype = None
    lib.speex_echo_state_destroy.argtypes = [ptr]
    lib.speex_echo_state_reset.restype = None
    lib.speex_echo_state_reset.argtypes = [ptr]
    lib.speex_echo_ctl.restype = c_int
    lib.speex_echo_ctl.argtypes = [ptr, c_int, ptr]
    lib.speex_echo_cancellation.restype = None
    lib.speex_echo_cancellation.argtypes = [ptr, ptr, ptr, ptr]
    lib.speex_preprocess_state_init.restype = ptr
    lib.speex_preprocess_state_init.argtypes = [c_int, c_int]
    lib.speex_preprocess_state_destroy.restype = None
    lib.speex_preprocess_state_destroy.argtypes = [ptr]
    lib.speex_preprocess_ctl.restype = c_int
    lib.speex_preprocess_ctl.argtypes = [ptr, c_int, ptr]
    lib.speex_preprocess_run.restype = c_int
    lib.speex_preprocess_run.argtypes = [ptr, ptr]


def _destroy_states(lib: ctypes.CDLL, states: list) -> None:
    """Finalizer body: frees the preprocessor, then the echo state (each once)."""
    echo, preprocess = states
    states[:] = [None, None]
    if preprocess:
        lib.speex_preprocess_state_destroy(preprocess)
    if echo:
        lib.speex_echo_state_destroy(echo)


def _as_int16(data, what: str, samples: int | None = None) -> np.ndarray:
    """bytes-like s16le or an integer/float array as contiguous int16; ValueError naming the problem."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        if len(data) % 2:
            raise ValueError(f'{what}: odd byte count {len(data)} (need s16le samples)')
        array = np.frombuffer(bytes(data), dtype='<i2')
    elif isinstance(data, np.ndarray):
        if data.ndim != 1:
            raise ValueError(f'{what}: need a mono 1-D array, got shape {data.shape}')
        if data.dtype.kind == 'f':
            if not np.all(np.isfinite(data)):
                raise ValueError(f'{what}: NaN or infinite samples')
            array = np.clip(np.round(data), -32768, 32767).astype(np.int16)
        elif data.dtype.kind in 'iu':
            array = np.clip(data, -32768, 32767).astype(np.int16)
        else:
            raise ValueError(f'{what}: unsupported sample type {data.dtype}')
    else:
        raise ValueError(f'{what}: need bytes or a numpy array, got {type(data).__name__}')
    if samples is not None and array.size != samples:
        raise ValueError(f'{what}: {array.size} samples, need exactly {samples} '
                         f'({1000 * samples // SAMPLE_RATE} ms at {SAMPLE_RATE} Hz)')
    return np.ascontiguousarray(array, dtype=np.int16)


class SpeexEchoCanceller:
    """speexdsp's acoustic echo canceller plus its residual echo suppressor, one frame at a time.

    `filter_ms` must cover the echo path: the playback-to-capture delay plus the room's reverberation
    that matters (200-300 ms for a robot's speaker a hand away from its microphone). Larger filters
    converge more slowly. The residual echo suppressor runs inside speex's noise suppressor, so
    `residual_suppression` turns denoising on; `noise_suppress_db` keeps it mild (the recognizer wants
    the visitor's voice intact, not a quiet background).
    """

    def __init__(self, frame_ms: int = 20, filter_ms: int = 250, sample_rate: int = SAMPLE_RATE,
                 residual_suppression: bool = True, echo_suppress_db: int = -40,
                 echo_suppress_active_db: int = -15, noise_suppress_db: int = -6,
                 library: str = LIBRARY_NAME) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f'sample_rate must be {SAMPLE_RATE} Hz (the robot format), got {sample_rate}')
        if frame_ms not in (10, 20):
            raise ValueError(f'frame_ms must be 10 or 20, got {frame_ms}')
        if not 50 <= filter_ms <= 1000:
            raise ValueError(f'filter_ms must be within 50-1000 ms, got {filter_ms}')
        for name, value in (('echo_suppress_db', echo_suppress_db),
                            ('echo_suppress_active_db', echo_suppress_active_db),
                            ('noise_suppress_db', noise_suppress_db)):
            if value > 0:
                raise ValueError(f'{name} is an attenuation in dB and must be <= 0, got {value}')
        self._lib = load_speexdsp(library)
        self.sample_rate = sample_rate
        self.frame_ms = frame_ms
        self.filter_ms = filter_ms
        self.frame_samples = sample_rate * frame_ms // 1000
        self.frame_bytes = 2 * self.frame_samples
        self.filter_samples = sample_rate * filter_ms // 1000
        self.residual_suppression = residual_suppression
        self.frames = 0
        # the residual suppressor's overlap-add delays the output by one frame (measured, see the tests)
        self.latency_samples = self.frame_samples if residual_suppression else 0
        self._lock = threading.Lock()
        self._out = np.zeros(self.frame_samples, dtype=np.int16)
        self._zeros = np.zeros(self.frame_samples, dtype=np.int16)
        echo = self._lib.speex_echo_state_init(self.frame_samples, self.filter_samples)
        if not echo:
            raise MemoryError('speex_echo_state_init returned NULL')
        preprocess = None
        if residual_suppression:
            preprocess = self._lib.speex_preprocess_state_init(self.frame_samples, sample_rate)
            if not preprocess:
                self._lib.speex_echo_state_destroy(echo)
                raise MemoryError('speex_preprocess_state_init returned NULL')
        self._states = [echo, preprocess]
        self._finalizer = weakref.finalize(self, _destroy_states, self._lib, self._states)
        self._echo_ctl(SPEEX_ECHO_SET_SAMPLING_RATE, sample_rate)
        if preprocess:
            self._preprocess_ctl(SPEEX_PREPROCESS_SET_DENOISE, 1)
            self._preprocess_ctl(SPEEX_PREPROCESS_SET_NOISE_SUPPRESS, int(noise_suppress_db))
            self._preprocess_ctl(SPEEX_PREPROCESS_SET_ECHO_SUPPRESS, int(echo_suppress_db))
            self._preprocess_ctl(SPEEX_PREPROCESS_SET_ECHO_SUPPRESS_ACTIVE, int(echo_suppress_active_db))
            if self._lib.speex_preprocess_ctl(preprocess, SPEEX_PREPROCESS_SET_ECHO_STATE, echo) != 0:
                raise RuntimeError('speex_preprocess_ctl(SET_ECHO_STATE) failed')

    def _echo_ctl(self, request: int, value: int) -> None:
        arg = ctypes.c_int32(value)
        if self._lib.speex_echo_ctl(self._states[0], request, ctypes.byref(arg)) != 0:
            raise RuntimeError(f'speex_echo_ctl({request}, {value}) failed')

    def _preprocess_ctl(self, request: int, value: int) -> None:
        arg = ctypes.c_int32(value)
        if self._lib.speex_preprocess_ctl(self._states[1], request, ctypes.byref(arg)) != 0:
            raise RuntimeError(f'speex_preprocess_ctl({request}, {value}) failed')

    @property
    def closed(self) -> bool:
        return not self._finalizer.alive

    def process(self, mic_frame, far_frame=None) -> bytes:
        """The microphone frame with the robot's echo removed, as s16le bytes of the same length.

        Both frames are exactly `frame_samples` long (bytes s16le or an int16 array); `far_frame` is what
        the speaker played for that frame (None: it played nothing). Anything else is a ValueError.
        """
        mic = _as_int16(mic_frame, 'microphone frame', self.frame_samples)
        far = self._zeros if far_frame is None else _as_int16(far_frame, 'far-end frame', self.frame_samples)
        with self._lock:
            if self.closed:
                raise RuntimeError('the echo canceller is closed')
            echo, preprocess = self._states
            out = self._out
            self._lib.speex_echo_cancellation(echo, mic.ctypes.data, far.ctypes.data, out.ctypes.data)
            if preprocess:
                self._lib.speex_preprocess_run(preprocess, out.ctypes.data)
            self.frames += 1
            return out.tobytes()

    def process_block(self, mic, far=None) -> bytes:
        """`process` over a whole number of frames (e.g. a 100 ms microphone chunk is 5 frames of 20 ms)."""
        mic_samples = _as_int16(mic, 'microphone block')
        count, rest = divmod(mic_samples.size, self.frame_samples)
        if rest or not count:
            raise ValueError(f'microphone block: {mic_samples.size} samples is not a positive multiple '
                             f'of the {self.frame_samples}-sample frame')
        far_samples = None if far is None else _as_int16(far, 'far-end block', mic_samples.size)
        n = self.frame_samples
        return b''.join(self.process(mic_samples[i * n:(i + 1) * n],
                                     None if far_samples is None else far_samples[i * n:(i + 1) * n])
                        for i in range(count))

    def reset(self) -> None:
        """Forgets the learnt echo path (e.g. after the speaker volume or the robot's pose changed a lot)."""
        with self._lock:
            if not self.closed:
                self._lib.speex_echo_state_reset(self._states[0])

    def close(self) -> None:
        """Frees the speex states (also done by the garbage collector); idempotent."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> 'SpeexEchoCanceller':
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class FarEndBuffer:
    """The robot's own output on the microphone's clock: pushed as played, read back per microphone frame.

    `push(pcm, t)` records that `pcm` (16 kHz int16) started playing at time t; `take(t, n)` returns the n
    samples that played from t - `latency_s` on (`latency_s`: the output device's extra delay, if the
    timestamps are when audio was handed to it), zeros where nothing played. A later push overwrites an
    overlapping earlier one (the speaker plays one stream). Bad pushes are counted in `drops`, never
    raised. Audio older than `keep_s` before the newest read is forgotten (memory stays flat).
    """

    def __init__(self, sample_rate: int = SAMPLE_RATE, latency_s: float = 0.0, keep_s: float = 2.0,
                 max_push_s: float = 120.0) -> None:
        if sample_rate != SAMPLE_RATE:
            raise ValueError(f'sample_rate must be {SAMPLE_RATE} Hz, got {sample_rate}')
        if latency_s < 0 or keep_s < 0:
            raise ValueError('latency_s and keep_s must be >= 0')
        self.sample_rate = sample_rate
        self.latency_s = latency_s
        self.keep_s = keep_s
        self.max_push_s = max_push_s
        self._segments: list[tuple[int, np.ndarray]] = []   # (first sample index, samples) in push order
        self.drops: Counter = Counter()
        self.pushed = 0

    def _index(self, t: float) -> int:
        return int(round(t * self.sample_rate))

    def push(self, pcm, t_start: float) -> bool:
        """Records output that starts playing at t_start; False (and a counted drop) if unusable."""
        if not isinstance(t_start, (int, float)) or not math.isfinite(t_start):
            self.drops['timestamp'] += 1
            return False
        try:
            samples = _as_int16(pcm, 'far-end audio')
        except ValueError:
            self.drops['format'] += 1
            return False
        if samples.size == 0:
            self.drops['empty'] += 1
            return False
        if samples.size > self.max_push_s * self.sample_rate:
            self.drops['too_long'] += 1
            return False
        self._segments.append((self._index(t_start), samples.copy()))
        self.pushed += 1
        return True

    def stop(self, t: float) -> None:
        """What was playing stops at t (the utterance was interrupted): its rest is cut. Audio pushed to start
        at or after t is a new utterance (its reference may arrive before the report of the cut) and stays."""
        cut = self._index(t)
        self._segments = [(begin, samples[:cut - begin] if begin < cut else samples)
                          for begin, samples in self._segments]

    def clear(self) -> None:
        self._segments.clear()

    def take(self, t_start: float, n_samples: int) -> np.ndarray:
        """The n_samples the speaker played from t_start - latency_s on, as int16 (zeros where silent)."""
        out = np.zeros(n_samples, dtype=np.int16)
        if not math.isfinite(t_start) or n_samples <= 0:
            return out
        first = self._index(t_start - self.latency_s)
        last = first + n_samples
        for begin, samples in self._segments:
            lo, hi = max(begin, first), min(begin + samples.size, last)
            if lo < hi:
                out[lo - first:hi - first] = samples[lo - begin:hi - begin]
        horizon = first - int(self.keep_s * self.sample_rate)
        self._segments = [(b, s) for b, s in self._segments if b + s.size > horizon]
        return out

    def playing(self, t_start: float, t_end: float) -> bool:
        """Whether any pushed audio plays within [t_start, t_end) (after latency_s)."""
        first, last = self._index(t_start - self.latency_s), self._index(t_end - self.latency_s)
        return any(max(begin, first) < min(begin + s.size, last) for begin, s in self._segments)


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level of int16 samples in dBFS (floor -120)."""
    if samples.size == 0:
        return -120.0
    power = float(np.mean(np.square(samples, dtype=np.float64)))
    return max(-120.0, 10.0 * math.log10(power / INT16_FULL_SCALE ** 2 + 1e-30))


class EnergySpeechProbability:
    """The default frame -> speech probability: level above an adaptive noise floor, as a logistic.

    The floor follows quiet frames quickly and loud frames slowly (so speech does not lift it); a
    frame `margin_db` above the floor has probability 0.5, each `slope_db` more pushes it towards 1.
    Residual echo is left to the detector's echo gate, which knows the far end.
    """

    def __init__(self, margin_db: float = 10.0, slope_db: float = 2.5, floor_init_dbfs: float = -65.0,
                 min_speech_dbfs: float = -55.0, rise_db_per_s: float = 1.0) -> None:
        self.margin_db = margin_db
        self.slope_db = slope_db
        self.floor = floor_init_dbfs
        self.min_speech_dbfs = min_speech_dbfs
        self.rise_db_per_s = rise_db_per_s

    def __call__(self, frame: np.ndarray) -> float:
        level = level_dbfs(frame)
        duration = frame.size / SAMPLE_RATE
        if level < self.floor:
            self.floor += min(1.0, duration / 0.1) * (level - self.floor)
        else:
            self.floor += min(level - self.floor, self.rise_db_per_s * duration)
        self.floor = min(max(self.floor, -100.0), -20.0)
        threshold = max(self.min_speech_dbfs, self.floor + self.margin_db)
        return 1.0 / (1.0 + math.exp(-(level - threshold) / self.slope_db))


@dataclass(frozen=True)
class BargeIn:
    onset_t: float        # start of the first frame of the voiced run that fired
    fired_t: float        # end of the frame that made the decision
    audio_start_t: float  # start of `audio` (onset minus the preroll margin)
    audio: bytes          # cancelled s16le audio from audio_start_t to fired_t: feed it to the recognizer first
    level_dbfs: float     # level of the firing frame
    reduction_db: float   # that frame's echo reduction (microphone level - output level)

    @property
    def latency_s(self) -> float:
        return self.fired_t - self.onset_t


class BargeInDetector:
    """'The visitor started speaking' while the robot speaks, from cancelled frames (clock-fed).

    A frame is voiced when the speech probability passes `start_threshold` (`continue_threshold` once a
    run is open: hysteresis) AND, while the robot's voice may be in the microphone (far end louder than
    `min_far_dbfs` within the last `echo_window_s`), its echo reduction (microphone level minus output
    level) fell at least `echo_margin_db` below the canceller's usual worst reduction. Echo alone is
    reduced by 25-45 dB once the canceller converged; a visitor talking over the robot passes through,
    so the reduction of that frame collapses. The usual worst reduction is a low quantile
    (`echo_quantile`) over the last `echo_memory_s` of unvoiced echo frames (microphone well above its
    floor), the newest MIN_ECHO_FRAMES kept across the robot's silences: it follows how well the
    canceller works, starts at 0 dB (nothing fires before the canceller has converged) and a few frames
    of the visitor cannot move it. Voiced time accumulates (unvoiced frames drain it twice as fast, so a
    run survives short gaps); `onset_ms` of it fires once.
    After firing, `push` returns None until `reset()` (call it when the robot starts its next utterance).

    Dormancy: the probability (a Silero call per frame, most of the idle asr node's work) is not called while
    no far end louder than `min_far_dbfs` was seen within the echo window nor for the last `wake_s`, nor since
    the last `reset()`: with the robot silent a voiced frame could only fire a BargeIn that nobody uses.
    Dormant frames count as unvoiced; everything else (microphone floor, kept audio, drops) goes on. The last
    `warm_s` of dormant frames are kept; on waking the probability is told of the gap (`resume()`, if it has
    one) and fed them, results ignored, so a stateful VAD (Silero's LSTM) is where continuous running would
    have left it: without the warm-up Silero said 'speech' one or more 32 ms windows later. `wake_s` None:
    never dormant. `probability_frames` counts the probability calls (warm-up included), `dormant_frames`
    the frames not scored.
    """

    def __init__(self, probability: SpeechProbability | None = None, start_threshold: float = 0.6,
                 continue_threshold: float = 0.4, onset_ms: float = 120.0, preroll_s: float = 0.25,
                 echo_margin_db: float = 18.0, echo_window_s: float = 0.4, echo_memory_s: float = 3.0,
                 echo_quantile: float = 0.5, min_far_dbfs: float = -60.0, echo_over_floor_db: float = 25.0,
                 max_gain_db: float = 6.0, keep_s: float = 3.0, wake_s: float | None = 2.0,
                 warm_s: float = 0.5) -> None:
        if not 0.0 < continue_threshold <= start_threshold < 1.0:
            raise ValueError('need 0 < continue_threshold <= start_threshold < 1')
        if onset_ms <= 0 or preroll_s < 0 or keep_s <= 0:
            raise ValueError('onset_ms and keep_s must be > 0, preroll_s >= 0')
        if (wake_s is not None and wake_s < 0) or warm_s < 0:
            raise ValueError('wake_s (or None) and warm_s must be >= 0')
        self.probability = probability or EnergySpeechProbability()
        self.start_threshold = start_threshold
        self.continue_threshold = continue_threshold
        self.onset_s = onset_ms / 1000.0
        self.preroll_s = preroll_s
        self.echo_margin_db = echo_margin_db
        self.echo_window_s = echo_window_s
        self.echo_memory_s = echo_memory_s
        self.echo_quantile = echo_quantile
        self.min_far_dbfs = min_far_dbfs
        self.echo_over_floor_db = echo_over_floor_db
        self.max_gain_db = max_gain_db
        self.keep_s = max(keep_s, preroll_s + 2 * self.onset_s)
        # 2 s: the robot's pauses between sentences and clauses (espeak-ng and piper: 0.1-0.8 s) plus the asr
        # engine's echo tail (0.3 s after the robot's audio, where a BargeIn still counts) stay awake with a
        # margin, so over the robot's voice the detector runs as it always did; at the idle entrance (minutes
        # of silence) it sleeps all but 2 s after each utterance.
        self.wake_s = wake_s
        self.warm_s = warm_s
        self.drops: Counter = Counter()
        self.frames = 0
        self.events = 0
        self.probability_frames = 0
        self.dormant_frames = 0
        self.mic_floor = -70.0
        self._far: deque[tuple[float, float]] = deque()          # (t, far level) within the echo window
        self._reductions: deque[tuple[float, float]] = deque()   # (t, mic - out dB) of unvoiced echo frames
        self._awake_t = -math.inf        # last time the robot was heard (or about to be: reset()); wake_s on
        self._asleep = True              # the probability has not seen the last frames: warm it up first
        self._dormant_audio: deque[tuple[float, int, np.ndarray]] = deque()   # last warm_s of unscored frames
        self._stream_samples = 0         # samples of the frames that reached the probability (or slept)
        self.reset()
        self._wake_requested = False     # a new detector sleeps until the robot is heard

    def reset(self) -> None:
        """Re-arms the detector and forgets the kept audio (what it learnt of the echo is kept)."""
        self.fired: BargeIn | None = None
        self._voiced_s = 0.0
        self._in_run = False
        self._onset_t: float | None = None
        self._last_t = -math.inf
        self._audio: deque[tuple[float, bytes]] = deque()
        self._wake_requested = True   # the robot starts an utterance: score from the next frame on

    def echo_reduction_db(self) -> float:
        """The canceller's usual worst echo reduction lately (dB; 0 until enough echo was seen)."""
        if len(self._reductions) < MIN_ECHO_FRAMES:
            return 0.0
        return float(np.quantile([r for _, r in self._reductions], self.echo_quantile))

    def far_active(self) -> bool:
        return max((level for _, level in self._far), default=-120.0) >= self.min_far_dbfs

    @property
    def dormant(self) -> bool:
        """Whether the last frame was left unscored (the robot silent for wake_s)."""
        return self._asleep

    def _sleeps(self, t: float, far_level: float) -> bool:
        """Whether the frame at t goes unscored (see the class docstring), updating the wake time."""
        if self.wake_s is None:
            return False
        if far_level >= self.min_far_dbfs or self._wake_requested:
            self._awake_t, self._wake_requested = t, False
        return t - self._awake_t > self.wake_s and not self.far_active()

    def _warm_up(self) -> None:
        """The probability brought up to date on the kept frames (results ignored) before scoring again.

        A probability with a `window` (samples per score, Silero's 512) is fed from the first kept frame that
        starts on a window boundary of the whole stream, so afterwards it scores the same windows as if it
        had run all along (Silero's score moves with a 128-sample shift of its window)."""
        kept = list(self._dormant_audio)
        window = getattr(self.probability, 'window', 0)
        if isinstance(window, int) and window > 0:
            aligned = [i for i, (_, offset, _) in enumerate(kept) if offset % window == 0]
            kept = kept[aligned[0]:] if aligned else kept
        resume = getattr(self.probability, 'resume', None)
        try:
            if callable(resume):
                resume()
            for _, _, samples in kept:
                self.probability(samples)
                self.probability_frames += 1
        except Exception:   # as in push: a failing VAD is counted, never fatal
            self.drops['probability_error'] += 1
        self._dormant_audio.clear()

    def push(self, frame, t: float, far=None, mic=None) -> BargeIn | None:
        """One cancelled frame for time t, with the far-end and microphone frames of that same time.

        `far` None: the robot played nothing. `mic` None: the echo check is skipped (only sensible
        without a far end). Returns the BargeIn when this frame completes an onset, else None. Bad
        frames and timestamps are counted in `drops` and ignored.
        """
        if not isinstance(t, (int, float)) or not math.isfinite(t):
            self.drops['timestamp'] += 1
            return None
        if t < self._last_t:
            self.drops['time_backwards'] += 1
            return None
        try:
            samples = _as_int16(frame, 'cancelled frame')
            far_samples = None if far is None else _as_int16(far, 'far-end frame')
            mic_samples = None if mic is None else _as_int16(mic, 'microphone frame')
        except ValueError:
            self.drops['format'] += 1
            return None
        if samples.size == 0:
            self.drops['empty'] += 1
            return None
        duration = samples.size / SAMPLE_RATE
        t_end = t + duration
        self._last_t = t
        self.frames += 1
        far_level = -120.0 if far_samples is None or far_samples.size == 0 else level_dbfs(far_samples)
        self._far.append((t, far_level))
        while self._far and self._far[0][0] < t_end - self.echo_window_s:
            self._far.popleft()
        offset, self._stream_samples = self._stream_samples, self._stream_samples + samples.size
        if self._sleeps(t, far_level):
            self._asleep = True
            self.dormant_frames += 1
            self._dormant_audio.append((t, offset, samples))
            while self._dormant_audio and self._dormant_audio[0][0] < t_end - self.warm_s:
                self._dormant_audio.popleft()
            voiced = False
        else:
            if self._asleep:
                self._asleep = False
                self._warm_up()
            try:
                self.probability_frames += 1
                p = float(self.probability(samples))
            except Exception:   # a VAD that fails on a frame must not take the audio path down
                self.drops['probability_error'] += 1
                return None
            if not math.isfinite(p):
                self.drops['probability_nan'] += 1
                return None
            threshold = self.continue_threshold if self._in_run else self.start_threshold
            voiced = p >= threshold
        level = level_dbfs(samples)
        reduction = math.nan
        echo_frame = False
        if mic_samples is not None and mic_samples.size:
            mic_level = level_dbfs(mic_samples)
            if mic_level < self.mic_floor:
                self.mic_floor += min(1.0, duration / 0.1) * (mic_level - self.mic_floor)
            else:
                self.mic_floor += min(mic_level - self.mic_floor, duration)   # rises 1 dB/s
            reduction = mic_level - level
            far_active = self.far_active()
            echo_frame = far_active and mic_level >= self.mic_floor + self.echo_over_floor_db
            # a visitor adds to the microphone: output well above it is the canceller misadjusting
            if far_active and not (-self.max_gain_db <= reduction <= self.echo_reduction_db() - self.echo_margin_db):
                voiced = False
        elif self.far_active():
            self.drops['no_microphone_reference'] += 1
            voiced = False
        if echo_frame and not voiced:
            self._reductions.append((t, reduction))
        # The last echo_memory_s of echo frames, but never fewer than the estimate needs: after a silence the
        # next utterance starts with what the canceller achieved at the end of the last one (it keeps its
        # filter), so a visitor who speaks in its first few hundred ms is told apart from the robot.
        while len(self._reductions) > MIN_ECHO_FRAMES and self._reductions[0][0] < t - self.echo_memory_s:
            self._reductions.popleft()
        if self.fired is not None:
            return None
        self._audio.append((t, samples.tobytes()))
        while self._audio and self._audio[0][0] < t_end - self.keep_s:
            self._audio.popleft()
        if voiced:
            if not self._in_run:
                self._in_run, self._onset_t = True, t
            self._voiced_s += duration
        else:
            self._voiced_s = max(0.0, self._voiced_s - 2 * duration)
            if self._voiced_s == 0.0:
                self._in_run, self._onset_t = False, None
        if self._in_run and self._voiced_s + 1e-9 >= self.onset_s:
            return self._fire(t_end, level, reduction)
        return None

    def _fire(self, t_end: float, level: float, reduction: float) -> BargeIn:
        start = self._onset_t - self.preroll_s
        kept = [(ft, data) for ft, data in self._audio if ft >= start - 1e-9]
        self.fired = BargeIn(onset_t=self._onset_t, fired_t=t_end,
                             audio_start_t=kept[0][0] if kept else self._onset_t,
                             audio=b''.join(data for _, data in kept), level_dbfs=level, reduction_db=reduction)
        self.events += 1
        self._audio.clear()
        return self.fired


class SileroFrameProbability:
    """Frame -> speech probability from a Silero VAD of its own, for the barge-in detector's 20 ms frames.

    Silero scores consecutive 512-sample (32 ms) windows: each frame is scored by the latest whole window
    ending within it (the previous score if none ends there), the remainder carried to the next frame. Its
    state follows the cancelled signal, not the segmenter's. `reset()` forgets everything (a new stream);
    `resume()` (the detector's wake-up after dormancy) only drops the remainder, the next frame not being
    the continuation of the last one.
    """

    def __init__(self, vad=None) -> None:
        # imported here: vad.py pulls in the configuration (pydantic) and onnxruntime, which the echo
        # canceller alone (the tts node's resampler users, bench_echo) does not need
        from caexpo_robot.listening.vad import FRAME_SAMPLES, SileroVad
        self.vad = vad if vad is not None else SileroVad()
        self.window = FRAME_SAMPLES
        self.reset()

    def reset(self) -> None:
        self.vad.reset()
        self.resume()
        self.last = 0.0

    def resume(self) -> None:
        # The model state is kept: after seconds of the hall, Silero's LSTM state is what continuous running
        # gives, and the detector's warm-up on its kept frames brings it up to date. A zeroed state plus even
        # 1 s of warm-up said 'speech' at other frames than continuous running (0.1-0.2 s apart, or fired
        # where it did not) on the recorded visitor over espeak; kept state plus 0.5 s: at the same frames.
        self._pending = np.zeros(0, dtype=np.int16)

    def __call__(self, frame: np.ndarray) -> float:
        pending = np.concatenate([self._pending, _as_int16(frame, 'VAD frame')])
        start = 0
        while pending.size - start >= self.window:
            self.last = self.vad.probability(pending[start:start + self.window])
            start += self.window
        self._pending = pending[start:]
        return self.last


class EchoCancellingListener:
    """The three pieces wired for the asr node: microphone chunks in, cancelled audio and barge-ins out.

    `push(chunk, t)` takes a microphone chunk (a whole number of canceller frames, e.g. 100 ms) that
    started at time t on the far end's clock; returns (cancelled bytes, BargeIn or None). The cancelled
    audio lags the microphone by `canceller.latency_samples` (the residual suppressor's frame); the
    detector is fed the microphone and far-end frames of that same moment, and its times are the
    audio's true times.
    """

    def __init__(self, canceller: SpeexEchoCanceller, far_end: FarEndBuffer,
                 detector: BargeInDetector) -> None:
        self.canceller, self.far_end, self.detector = canceller, far_end, detector
        lag = canceller.latency_samples // canceller.frame_samples
        self._history: deque[tuple[np.ndarray, np.ndarray]] = deque(maxlen=lag + 1)

    def push(self, chunk, t: float) -> tuple[bytes, BargeIn | None]:
        mic = _as_int16(chunk, 'microphone chunk')
        n = self.canceller.frame_samples
        if mic.size == 0 or mic.size % n:
            raise ValueError(f'microphone chunk: {mic.size} samples is not a positive multiple of {n}')
        out, event = [], None
        lag_s = self.canceller.latency_samples / SAMPLE_RATE
        for i in range(0, mic.size, n):
            frame_t = t + i / SAMPLE_RATE
            far = self.far_end.take(frame_t, n)
            clean = self.canceller.process(mic[i:i + n], far)
            out.append(clean)
            self._history.append((mic[i:i + n], far))
            if len(self._history) == self._history.maxlen:
                old_mic, old_far = self._history[0]
                found = self.detector.push(clean, frame_t - lag_s, old_far, old_mic)
                event = event or found
        return b''.join(out), event
