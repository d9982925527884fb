"""Echo cancelling (real libspeexdsp) and barge-in detection on a simulated echo path.

Far end: espeak-ng speech (the robot's real voice engine). Near end: the far end delayed 30-120 ms,
attenuated and coloured by a short decaying impulse response, low noise, and optionally the recorded
English visitor (../shared/data/speech/en_digits_test.wav) starting mid-way at a given level relative to
the echo. The scenario builder is shared with bench/bench_echo.py.
"""
from __future__ import annotations

import gc
import math
import wave
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

from caexpo_robot.listening.audio import SAMPLE_RATE
from caexpo_robot.listening.echo import (
    BargeInDetector,
    EchoCancellingListener,
    EchoLibraryError,
    EnergySpeechProbability,
    FarEndBuffer,
    SileroFrameProbability,
    SpeexEchoCanceller,
    level_dbfs,
)

REPO = Path(__file__).resolve().parent.parent
VISITOR_WAV = REPO.parent / 'shared' / 'data' / 'speech' / 'en_digits_test.wav'
FRAME = SAMPLE_RATE * 20 // 1000
# Measured on these scenarios (bench/bench_echo.py): echo reduction 29-36 dB after 3 s; the visitor's
# speech in the output correlates 0.76-0.84 with the clean recording. The bounds leave a margin.
ERLE_MIN_DB = 25.0
VISITOR_CORRELATION_MIN = 0.7

# (voice, robot's sentence): several voices and languages of the robot's own greeting
ROBOT_LINES = {
    'en-us': 'Welcome to the China ASEAN Expo. I can help you find exhibitors, events and the nearest toilet.',
    'vi': 'Xin chào quý khách đến với Hội chợ Trung Quốc ASEAN. Tôi có thể giúp gì cho bạn?',
    'th': 'สวัสดีครับ ยินดีต้อนรับสู่งานแสดงสินค้าจีนอาเซียน มีอะไรให้ช่วยไหมครับ',
    'id': 'Selamat datang di Pameran China ASEAN. Ada yang bisa saya bantu hari ini?',
    'cmn': '欢迎来到中国东盟博览会。我可以帮您找到展商、活动和最近的洗手间。',
}


@lru_cache(maxsize=None)
def robot_speech(voice: str) -> np.ndarray:
    """The robot's line in `voice`, twice with a pause between (a greeting of several sentences)."""
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    speech = np.frombuffer(synthesize_speech(ROBOT_LINES[voice], voice), dtype='<i2')
    pause = np.zeros(SAMPLE_RATE * 6 // 10, dtype=np.int16)
    return np.concatenate([speech, pause, speech])


@lru_cache(maxsize=1)
def visitor_speech() -> np.ndarray:
    with wave.open(str(VISITOR_WAV), 'rb') as reader:
        assert reader.getframerate() == SAMPLE_RATE and reader.getnchannels() == 1
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2').copy()


def speech_onset_s(samples: np.ndarray) -> float:
    """Where speech starts in a clean recording: the first 20 ms frame within 15 dB of the loudest one."""
    frames = samples[:samples.size // FRAME * FRAME].reshape(-1, FRAME).astype(np.float64)
    levels = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-9)
    return float(np.argmax(levels >= levels.max() - 15.0)) * FRAME / SAMPLE_RATE


def echo_path(delay_s: float, gain: float, seed: int = 0) -> np.ndarray:
    """A short room-ish impulse response: delay, a direct path, a 40 ms decaying tail, a gentle low-pass."""
    rng = np.random.default_rng(seed)
    tail = int(0.04 * SAMPLE_RATE)
    response = np.zeros(int(delay_s * SAMPLE_RATE) + tail)
    start = int(delay_s * SAMPLE_RATE)
    response[start] = 1.0
    # reflections about 10 dB below the direct sound, decaying with an 8 ms time constant
    response[start + 1:] = 0.04 * rng.normal(0.0, 1.0, tail - 1) * np.exp(-np.arange(1, tail) / (0.008 * SAMPLE_RATE))
    response = np.convolve(response, [0.25, 0.5, 0.25])[:response.size]   # the speaker's dull top end
    return gain * response


@dataclass
class Scenario:
    far: np.ndarray            # int16: what the robot played
    mic: np.ndarray            # int16: what its microphone heard
    echo: np.ndarray           # float: the echo component alone
    visitor: np.ndarray        # float: the visitor component alone (zeros if none)
    visitor_onset_s: float     # nan if no visitor


def make_scenario(voice: str = 'en-us', delay_s: float = 0.06, gain: float = 0.3, noise_dbfs: float = -60.0,
                  visitor_at_s: float | None = None, visitor_to_echo_db: float = 0.0, seed: int = 0,
                  far: np.ndarray | None = None) -> Scenario:
    """`far`: what the robot plays (default: its greeting in `voice`)."""
    far = robot_speech(voice) if far is None else far
    n = far.size
    echo = np.convolve(far.astype(np.float64), echo_path(delay_s, gain, seed))[:n]
    rng = np.random.default_rng(seed + 100)
    noise = rng.normal(0.0, 32768.0 * 10 ** (noise_dbfs / 20.0), n)
    visitor = np.zeros(n)
    onset = math.nan
    if visitor_at_s is not None:
        clean = visitor_speech().astype(np.float64)
        echo_rms = np.sqrt(np.mean(echo[np.abs(echo) > 0] ** 2))
        active = clean[np.abs(clean) > 0.05 * np.abs(clean).max()]
        scale = echo_rms * 10 ** (visitor_to_echo_db / 20.0) / np.sqrt(np.mean(active ** 2))
        begin = int(visitor_at_s * SAMPLE_RATE)
        part = clean[:n - begin] * scale
        visitor[begin:begin + part.size] = part
        onset = visitor_at_s + speech_onset_s(visitor_speech())
    mic = np.clip(np.round(echo + noise + visitor), -32768, 32767).astype(np.int16)
    return Scenario(far=far, mic=mic, echo=echo, visitor=visitor, visitor_onset_s=onset)


@dataclass
class Run:
    out: np.ndarray
    events: list
    detector: BargeInDetector


def run_scenario(scenario: Scenario, frame_ms: int = 20, detector: BargeInDetector | None = None,
                 stop_at_first: bool = True, chunk_ms: int = 100, reset_at_s: float | None = None,
                 **canceller_options) -> Run:
    """The scenario through EchoCancellingListener in 100 ms microphone chunks, as the asr node gets them.

    `out` is realigned with the microphone (the canceller's one-frame lag removed). `reset_at_s`: the
    detector is reset before the first chunk from then on (the asr engine does it when an utterance starts)."""
    detector = detector or BargeInDetector()
    far_end = FarEndBuffer()
    far_end.push(scenario.far.tobytes(), 0.0)
    pieces, events = [], []
    with SpeexEchoCanceller(frame_ms=frame_ms, **canceller_options) as canceller:
        listener = EchoCancellingListener(canceller, far_end, detector)
        n = SAMPLE_RATE * chunk_ms // 1000
        for i in range(0, scenario.mic.size - n + 1, n):
            if reset_at_s is not None and i / SAMPLE_RATE >= reset_at_s:
                detector.reset()
                reset_at_s = None
            clean, event = listener.push(scenario.mic[i:i + n].tobytes(), i / SAMPLE_RATE)
            pieces.append(np.frombuffer(clean, dtype='<i2'))
            if event is not None:
                events.append(event)
                if not stop_at_first:
                    detector.reset()
        lag = canceller.latency_samples
    out = np.zeros_like(scenario.mic)
    joined = np.concatenate(pieces)[lag:]
    out[:joined.size] = joined
    return Run(out=out, events=events, detector=detector)


def erle_db(mic: np.ndarray, out: np.ndarray, start_s: float, end_s: float | None = None) -> float:
    """Echo return loss enhancement: microphone energy over output energy, in dB, over [start, end)."""
    lo, hi = int(start_s * SAMPLE_RATE), None if end_s is None else int(end_s * SAMPLE_RATE)
    return level_dbfs(mic[lo:hi]) - level_dbfs(out[lo:hi])


def correlation_after_onset(scenario: Scenario, out: np.ndarray, seconds: float = 3.0) -> float:
    lo = int(scenario.visitor_onset_s * SAMPLE_RATE)
    hi = lo + int(seconds * SAMPLE_RATE)
    return float(np.corrcoef(out[lo:hi].astype(np.float64), scenario.visitor[lo:hi])[0, 1])


# --- the canceller -------------------------------------------------------------------------------------

def test_missing_library_names_the_apt_package():
    with pytest.raises(EchoLibraryError, match='apt-get install libspeexdsp1'):
        SpeexEchoCanceller(library='libspeexdsp-absent.so.9')


def test_bad_frames_and_parameters_are_clear_errors():
    with SpeexEchoCanceller() as canceller:
        good = np.zeros(canceller.frame_samples, dtype=np.int16)
        with pytest.raises(ValueError, match='need exactly 320'):
            canceller.process(b'\0' * 100, good)
        with pytest.raises(ValueError, match='odd byte count'):
            canceller.process(b'\0' * 641)
        with pytest.raises(ValueError, match='NaN'):
            canceller.process(np.full(320, np.nan), good)
        with pytest.raises(ValueError, match='far-end frame: 160 samples'):
            canceller.process(good, good[:160])
        with pytest.raises(ValueError, match='bytes or a numpy array'):
            canceller.process('not audio')
        with pytest.raises(ValueError, match='multiple'):
            canceller.process_block(np.zeros(500, dtype=np.int16))
        assert len(canceller.process(good.tobytes())) == canceller.frame_bytes   # no far end: silence
        assert canceller.frames == 1
    with pytest.raises(RuntimeError, match='closed'):
        canceller.process(good)
    canceller.close()   # idempotent
    for bad in (dict(frame_ms=30), dict(filter_ms=20), dict(sample_rate=8000), dict(echo_suppress_db=10)):
        with pytest.raises(ValueError):
            SpeexEchoCanceller(**bad)


def test_close_and_garbage_collection_free_the_speex_states():
    canceller = SpeexEchoCanceller()
    finalizer = canceller._finalizer
    canceller.process(np.zeros(320, dtype=np.int16))
    del canceller
    gc.collect()
    assert not finalizer.alive


@pytest.mark.parametrize('frame_ms', [10, 20])
def test_output_lags_by_the_stated_latency(frame_ms):
    noise = np.random.default_rng(3).normal(0.0, 3000.0, SAMPLE_RATE).astype(np.int16)
    with SpeexEchoCanceller(frame_ms=frame_ms) as canceller:
        out = np.frombuffer(canceller.process_block(noise), dtype='<i2').astype(np.float64)
        lag = canceller.latency_samples
    assert lag == canceller.frame_samples
    half = SAMPLE_RATE // 2   # after the noise suppressor settled
    aligned = np.corrcoef(out[half + lag:], noise[half:noise.size - lag])[0, 1]
    unaligned = np.corrcoef(out[half:], noise[half:])[0, 1]
    assert aligned > 0.9 > 0.2 > abs(unaligned)


# --- the far end ---------------------------------------------------------------------------------------

def test_far_end_buffer_aligns_fills_silence_and_drops_bad_pushes():
    buffer = FarEndBuffer(keep_s=0.5)
    ramp = np.arange(1, 1601, dtype=np.int16)                  # 100 ms
    assert buffer.push(ramp.tobytes(), 1.0)
    taken = buffer.take(0.99, 320)                             # 10 ms of silence, then the first 160 samples
    assert np.all(taken[:160] == 0) and np.array_equal(taken[160:], ramp[:160])
    assert np.array_equal(buffer.take(1.05, 160), ramp[800:960])
    assert buffer.playing(1.05, 1.07) and not buffer.playing(1.2, 1.3)
    buffer.push(np.full(160, 7, dtype=np.int16), 1.06)          # a later push overwrites the overlap
    assert np.all(buffer.take(1.06, 160) == 7)
    buffer.stop(1.08)                                          # interrupted: nothing plays after 1.08
    assert np.all(buffer.take(1.08, 320) == 0)
    assert np.array_equal(buffer.take(1.07, 160), ramp[1120:1280])
    assert not buffer.push(b'\0' * 3, 2.0) and not buffer.push(b'', 2.0)
    assert not buffer.push(ramp, float('nan')) and not buffer.push(np.full(4, np.nan), 2.0)
    assert buffer.drops == {'format': 2, 'empty': 1, 'timestamp': 1}
    buffer.take(5.0, 160)                                      # old audio is forgotten
    assert buffer._segments == []
    delayed = FarEndBuffer(latency_s=0.05)
    delayed.push(ramp, 0.0)
    assert np.array_equal(delayed.take(0.05, 160), ramp[:160])


# --- the whole chain on a simulated echo path ----------------------------------------------------------

# (voice, echo delay, echo gain): the robot's greeting in five voices, over delays and loudness
ECHO_CASES = [('en-us', 0.03, 0.3), ('vi', 0.12, 0.6), ('th', 0.06, 0.3), ('id', 0.09, 0.6), ('cmn', 0.12, 0.3)]


@pytest.mark.parametrize('voice,delay_s,gain', ECHO_CASES)
def test_echo_only_is_cancelled_and_never_fires_barge_in(voice, delay_s, gain):
    scenario = make_scenario(voice, delay_s=delay_s, gain=gain)
    run = run_scenario(scenario, stop_at_first=False)
    assert run.events == []
    assert erle_db(scenario.mic, run.out, 3.0) >= ERLE_MIN_DB
    assert run.detector.echo_reduction_db() >= 20.0
    assert run.detector.drops == {}


# (visitor level relative to the echo, echo delay): the visitor starts after the canceller converged
BARGE_IN_CASES = [(-10.0, 0.12), (-5.0, 0.03), (0.0, 0.09), (5.0, 0.06)]


@pytest.mark.parametrize('visitor_to_echo_db,delay_s', BARGE_IN_CASES)
def test_barge_in_fires_within_300_ms_and_the_visitor_survives(visitor_to_echo_db, delay_s):
    scenario = make_scenario('en-us', delay_s=delay_s, visitor_at_s=6.0, visitor_to_echo_db=visitor_to_echo_db)
    run = run_scenario(scenario, stop_at_first=False)
    assert len(run.events) >= 1
    event = run.events[0]
    assert scenario.visitor_onset_s - 0.1 <= event.onset_t and event.fired_t <= scenario.visitor_onset_s + 0.3
    assert event.audio_start_t <= scenario.visitor_onset_s          # the recognizer gets the whole answer
    assert len(event.audio) == round((event.fired_t - event.audio_start_t) * SAMPLE_RATE) * 2
    assert correlation_after_onset(scenario, run.out) >= VISITOR_CORRELATION_MIN


def test_a_probability_that_never_says_speech_never_fires():
    scenario = make_scenario('en-us', delay_s=0.06, visitor_at_s=6.0, visitor_to_echo_db=5.0)
    assert run_scenario(scenario, detector=BargeInDetector(probability=lambda frame: 0.0)).events == []


# --- the detector alone --------------------------------------------------------------------------------

def _frames(level_dbfs_: float, count: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    rms = 32768.0 * 10 ** (level_dbfs_ / 20.0)
    return [np.clip(rng.normal(0.0, rms, FRAME), -32768, 32767).astype(np.int16) for _ in range(count)]


def test_detector_without_far_end_fires_after_onset_ms_with_preroll():
    detector = BargeInDetector(onset_ms=100, preroll_s=0.1, wake_s=None)   # never dormant
    frames = _frames(-65.0, 50, 1) + _frames(-30.0, 20, 2)
    events = [(i, detector.push(frame, i * 0.02, None, frame)) for i, frame in enumerate(frames)]
    fired = [(i, e) for i, e in events if e is not None]
    assert len(fired) == 1                                    # once, until reset
    i, event = fired[0]
    assert i == 54 and event.onset_t == pytest.approx(1.0) and event.fired_t == pytest.approx(1.1)
    assert event.audio_start_t == pytest.approx(0.9) and len(event.audio) == 10 * FRAME * 2
    detector.reset()
    assert detector.fired is None


def test_detector_counts_bad_input_and_failing_probabilities():
    detector = BargeInDetector()
    frame = _frames(-40.0, 1, 0)[0]
    assert detector.push(b'\0' * 3, 0.0) is None
    assert detector.push(b'', 0.0) is None
    assert detector.push(frame, float('nan')) is None
    assert detector.push(np.full(FRAME, np.inf), 0.0) is None
    assert detector.push(frame, 1.0) is None
    assert detector.push(frame, 0.5) is None                   # time went backwards
    failing = BargeInDetector(probability=lambda f: 1 / 0, wake_s=None)
    assert failing.push(frame, 0.0) is None
    nan = BargeInDetector(probability=lambda f: float('nan'), wake_s=None)
    assert nan.push(frame, 0.0) is None
    assert detector.drops == {'format': 2, 'empty': 1, 'timestamp': 1, 'time_backwards': 1}
    assert failing.drops == {'probability_error': 1} and nan.drops == {'probability_nan': 1}
    with pytest.raises(ValueError):
        BargeInDetector(start_threshold=0.3, continue_threshold=0.5)
    with pytest.raises(ValueError):
        BargeInDetector(wake_s=-1.0)


# --- dormancy: no probability call while the robot is silent -------------------------------------------

class CountingProbability:
    """The energy probability, counting its calls and resumes (a stand-in with the Silero wrapper's API)."""

    def __init__(self) -> None:
        self.inner = EnergySpeechProbability()
        self.calls = self.resumes = 0

    def __call__(self, frame: np.ndarray) -> float:
        self.calls += 1
        return self.inner(frame)

    def resume(self) -> None:
        self.resumes += 1


def test_detector_sleeps_without_far_end_and_wakes_on_reset_or_far_end_with_the_kept_frames():
    probability = CountingProbability()
    detector = BargeInDetector(probability, wake_s=1.0, warm_s=0.2)
    noise, speech = _frames(-60.0, 100, 3), _frames(-30.0, 20, 4)
    loud_far = _frames(-20.0, 1, 5)[0]
    for i, frame in enumerate(noise):                          # 2 s, robot silent: never scored
        assert detector.push(frame, i * 0.02, None, frame) is None
    assert probability.calls == 0 and detector.probability_frames == 0 and detector.dormant_frames == 100
    assert detector.dormant and detector.mic_floor < -55.0     # the microphone floor followed the noise anyway
    detector.reset()                                           # the robot starts an utterance
    events = [detector.push(frame, 2.0 + i * 0.02, None, frame) for i, frame in enumerate(speech)]
    # warm-up: resumed, then fed the last 0.2 s of dormant frames (10), then every frame scored
    assert probability.resumes == 1 and probability.calls == 10 + 20 == detector.probability_frames
    assert sum(e is not None for e in events) == 1 and not detector.dormant
    detector.reset()
    for i, frame in enumerate(noise):   # awake for wake_s (1 s) after the reset, then asleep again
        detector.push(frame, 2.4 + i * 0.02, None, frame)
    assert detector.probability_frames == 30 + 51 and detector.dormant_frames == 100 + 49
    # a far end louder than min_far_dbfs wakes it (warm-up of 10 frames, then this frame)
    detector.push(noise[0], 4.4, loud_far, noise[0])
    assert detector.probability_frames == 81 + 11 and probability.resumes == 2 and not detector.dormant


def test_silero_frame_probability_scores_the_latest_whole_window():
    from caexpo_robot.listening.vad import SileroVad
    speech = visitor_speech()[:SAMPLE_RATE * 3]
    reference = SileroVad()
    windows = [reference.probability(speech[i:i + 512]) for i in range(0, speech.size - 511, 512)]
    probability = SileroFrameProbability()
    scores = [probability(speech[i:i + FRAME]) for i in range(0, speech.size - FRAME + 1, FRAME)]
    for k, score in enumerate(scores):   # frame k ends at sample 320 (k + 1): the last window ending by then
        done = (k + 1) * FRAME // 512
        assert score == (windows[done - 1] if done else 0.0)
    assert max(scores) > 0.9 and min(scores) < 0.1                  # the recording has speech and pauses
    probability.reset()
    assert probability(speech[:FRAME]) == 0.0 and probability.vad.frames == len(windows)


# The robot's greeting (the canceller converges), 3 s of silence (the detector falls asleep after wake_s),
# then a second line, with the recorded visitor over it. -55 dBFS hall noise.
SILENCE_S = 3.0
SECOND_LINE = 'Welcome to the China ASEAN Expo. How can I help you?'


@lru_cache(maxsize=1)
def robot_speaks_again() -> tuple[np.ndarray, float]:
    """The far end and when its second line starts."""
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    second = np.frombuffer(synthesize_speech(SECOND_LINE, 'en-us'), dtype='<i2')
    first = robot_speech('en-us')
    far = np.concatenate([first, np.zeros(int(SILENCE_S * SAMPLE_RATE), dtype=np.int16), second])
    return far, first.size / SAMPLE_RATE + SILENCE_S


def silero_detector(wake_s: float | None = 2.0) -> BargeInDetector:
    """As the asr engine builds it (asr.yaml's barge_in_threshold and barge_in_onset_ms)."""
    return BargeInDetector(SileroFrameProbability(), start_threshold=0.6, continue_threshold=0.4,
                           onset_ms=100, preroll_s=0.3, wake_s=wake_s)


# (visitor's speech onset after the robot's second line starts, whether the detector is reset then as the
# asr engine does when an utterance starts): at -0.3 s the visitor is already talking when the robot starts
@pytest.mark.parametrize('offset_s,reset', [(0.0, False), (0.2, False), (0.6, False), (-0.3, True)])
def test_dormancy_fires_at_the_same_frame_as_running_all_along(offset_s, reset):
    far, start = robot_speaks_again()
    at = start + offset_s - speech_onset_s(visitor_speech())
    scenario = make_scenario(far=far, visitor_at_s=at, visitor_to_echo_db=5.0, noise_dbfs=-55.0)
    runs = {wake_s: run_scenario(scenario, detector=silero_detector(wake_s), reset_at_s=start if reset else None)
            for wake_s in (None, 2.0)}
    always, dormant = runs[None].detector, runs[2.0].detector
    assert always.dormant_frames == 0 and dormant.dormant_frames >= 40   # it slept ~1 s of the silence
    assert dormant.probability_frames < always.probability_frames
    # (running all along, a visitor talking before the robot fires a BargeIn then, which the engine ignores:
    # the robot is not audible; the reset when the robot starts re-arms the detector)
    [first], [second] = [[e for e in runs[w].events if e.fired_t > start] for w in (None, 2.0)]
    assert [e for e in runs[2.0].events if e.fired_t <= start] == []
    assert first.onset_t >= start - 0.1 and first.fired_t <= max(start, scenario.visitor_onset_s) + 0.3
    assert second.fired_t == pytest.approx(first.fired_t, abs=0.021)
    assert second.onset_t == pytest.approx(first.onset_t, abs=0.021)
    assert dormant.echo_reduction_db() == pytest.approx(always.echo_reduction_db(), abs=0.5)


def test_a_long_robot_silence_stops_the_probability_calls_and_echo_learning_goes_on():
    far, start = robot_speaks_again()
    scenario = make_scenario(far=far, noise_dbfs=-55.0)   # the robot alone: its echo and the hall
    detectors = {wake_s: silero_detector(wake_s) for wake_s in (None, 2.0)}
    seen: dict = {wake_s: [] for wake_s in detectors}
    for wake_s, detector in detectors.items():
        far_end = FarEndBuffer()
        far_end.push(scenario.far.tobytes(), 0.0)
        with SpeexEchoCanceller() as canceller:
            listener = EchoCancellingListener(canceller, far_end, detector)
            n = SAMPLE_RATE // 10
            for i in range(0, scenario.mic.size - n + 1, n):
                _, event = listener.push(scenario.mic[i:i + n].tobytes(), i / SAMPLE_RATE)
                assert event is None
                seen[wake_s].append((i / SAMPLE_RATE, detector.probability_frames, detector.echo_reduction_db(),
                                     detector.mic_floor))
    frozen = [calls for t, calls, _, _ in seen[2.0] if start - SILENCE_S + 2.5 <= t < start - 0.1]
    assert len(frozen) >= 4 and len(set(frozen)) == 1                   # asleep: no more Silero calls
    assert seen[2.0][-1][1] > frozen[0]                                  # awake again with the robot's voice
    awake = [calls for t, calls, _, _ in seen[None] if start - SILENCE_S + 2.5 <= t < start - 0.1]
    assert awake[-1] - awake[0] == 5 * (len(awake) - 1)                  # (running all along: every frame)
    # what the detector learns of the echo and the microphone floor do not depend on it sleeping
    for (_, _, reduction, floor), (_, _, reduction_always, floor_always) in zip(seen[2.0], seen[None], strict=True):
        assert reduction == pytest.approx(reduction_always, abs=0.5) and floor == pytest.approx(floor_always)
    assert seen[2.0][-1][2] >= 20.0
