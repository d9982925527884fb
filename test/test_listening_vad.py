"""Silero VAD (the model faster-whisper ships, run by onnxruntime) and the VAD segmenters, on the
recorded English digits (three phrases) and on synthetic non-speech noise."""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from caexpo_robot.config_files import ConfigError, validate_config
from caexpo_robot.listening.config import EndpointConfig
from caexpo_robot.listening.endpoint import END, START
from caexpo_robot.listening.vad import (
    FRAME_SAMPLES,
    EnergySegmenter,
    SileroSegmenter,
    SileroVad,
    VadConfig,
    VadInputError,
    default_model_path,
    make_segmenter,
)

SPEECH = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'speech' / 'en_digits_test.wav'
RATE = 16000
CHUNK = 1600  # 100 ms, as the microphone node publishes

pytestmark = pytest.mark.skipif(not SPEECH.is_file(), reason=f'{SPEECH} not available')


@pytest.fixture(scope='module')
def vad() -> SileroVad:
    return SileroVad()


@pytest.fixture(scope='module')
def speech() -> np.ndarray:
    """The recording followed by 1.5 s of faint noise, so the last phrase can end."""
    with wave.open(str(SPEECH)) as reader:
        assert reader.getframerate() == RATE and reader.getnchannels() == 1
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2')
    pad = np.random.default_rng(1).normal(0.0, 32768 * 10 ** (-62 / 20), int(1.5 * RATE))
    return np.concatenate([samples, pad.astype(np.int16)])


def energy_phrases(samples: np.ndarray, window_s: float = 0.02, gap_s: float = 0.3) -> list[tuple[float, float]]:
    """(onset, offset) seconds of the phrases by level: 20 ms windows 10 dB above the 20th-percentile
    floor; a phrase starts at a run of >= 60 ms of them and ends at its last loud window followed by
    gap_s of quiet (so isolated clicks before a phrase do not move its onset)."""
    n = int(window_s * RATE)
    frames = samples[:samples.size // n * n].astype(np.float64).reshape(-1, n)
    level = 20 * np.log10(np.sqrt(np.mean(frames ** 2, axis=1)) / 32768 + 1e-12)
    loud = level > np.percentile(level, 20) + 10.0
    gap = int(gap_s / window_s)
    phrases, i = [], 0
    while i < loud.size:
        if loud[i:i + 3].all():
            start = end = i
            while end + 1 < loud.size and loud[end + 1:end + 1 + gap].any():
                end += 1 + int(np.argmax(loud[end + 1:end + 1 + gap]))
            phrases.append((start * window_s, (end + 1) * window_s))
            i = end + 1
        else:
            i += 1
    return phrases


def events(segmenter, samples: np.ndarray, chunk: int = CHUNK) -> list[tuple[str, float, str]]:
    """(state, time the decision was available = end of its chunk, reason) of every START/END."""
    out = []
    for i in range(0, samples.size, chunk):
        step = segmenter.push(samples[i:i + chunk])
        if step.state in (START, END):
            out.append((step.state, min(i + chunk, samples.size) / RATE, step.reason))
    return out


def test_model_is_the_one_faster_whisper_ships():
    path = default_model_path()
    assert path.is_file() and path.name.startswith('silero_vad') and 'faster_whisper' in path.parts


def test_streaming_matches_faster_whispers_batched_model(vad, speech):
    from faster_whisper.vad import get_vad_model

    audio = speech[:speech.size // FRAME_SAMPLES * FRAME_SAMPLES]
    expected = np.asarray(get_vad_model()(audio.astype(np.float32) / 32768)).ravel()
    vad.reset()
    streamed = np.array([vad.probability(audio[i:i + FRAME_SAMPLES])
                         for i in range(0, audio.size, FRAME_SAMPLES)])
    # faster-whisper zeroes the last frame's final 64 samples in place (its context trick): skip that frame
    np.testing.assert_allclose(streamed[:-1], expected[:-1], atol=1e-5)
    assert streamed.max() > 0.9 and streamed.min() < 0.1   # both speech and silence are in there
    vad.reset()   # after reset the stream starts afresh: the same first probabilities
    again = [vad.probability(audio[i:i + FRAME_SAMPLES]) for i in range(0, 40 * FRAME_SAMPLES, FRAME_SAMPLES)]
    np.testing.assert_allclose(again, streamed[:40], atol=1e-6)


def test_state_matters_between_frames(vad, speech):
    """The same frame scored mid-phrase and after a reset differs: the recurrent state is carried."""
    onset = int(energy_phrases(speech)[0][0] * RATE)
    vad.reset()
    for i in range(onset, onset + 10 * FRAME_SAMPLES, FRAME_SAMPLES):
        vad.probability(speech[i:i + FRAME_SAMPLES])
    frame = speech[onset + 10 * FRAME_SAMPLES:onset + 11 * FRAME_SAMPLES]
    carried = vad.probability(frame)
    vad.reset()
    assert abs(carried - vad.probability(frame)) > 0.05


@pytest.mark.parametrize('mode', ['silero', 'combined'])
def test_phrases_open_and_close_on_time(vad, speech, mode):
    config = VadConfig(mode=mode)
    phrases = energy_phrases(speech)
    assert len(phrases) == 3   # "1,001" / "90210" / "01803", paused ~1 s apart
    got = events(make_segmenter(config, None, vad), speech)
    starts = [t for state, t, _ in got if state == START]
    ends = [(t, reason) for state, t, reason in got if state == END]
    assert len(starts) == len(ends) == 3, got
    for (onset, offset), start, (end, reason) in zip(phrases, starts, ends, strict=True):
        assert onset < start <= onset + 0.2, (onset, start)
        assert reason == 'silence'
        assert offset < end <= offset + config.end_silence_s + 0.1, (offset, end)


def tone_mix(freqs: list[float], seconds: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    phases = np.random.default_rng(seed).uniform(0, 2 * np.pi, len(freqs))
    signal = sum(np.sin(2 * np.pi * f * t + p) for f, p in zip(freqs, phases, strict=True))
    return scale(np.asarray(signal), level_dbfs)


def scale(signal: np.ndarray, level_dbfs: float) -> np.ndarray:
    rms = np.sqrt(np.mean(signal ** 2))
    return np.clip(signal / rms * 32768 * 10 ** (level_dbfs / 20), -32768, 32767).astype(np.int16)


def pink(seconds: float, level_dbfs: float, seed: int = 0) -> np.ndarray:
    n = int(seconds * RATE)
    spectrum = np.fft.rfft(np.random.default_rng(seed).normal(size=n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0
    return scale(np.fft.irfft(spectrum, n), level_dbfs)


def chords(seconds: float, level_dbfs: float) -> np.ndarray:
    """Music-like: a I-V-vi-IV progression of 3-note chords with harmonics and a 0.5 s pluck envelope."""
    roots = [261.63, 392.00, 440.00, 349.23]
    beat = int(0.5 * RATE)
    t = np.arange(beat) / RATE
    envelope = np.exp(-t / 0.25) * np.minimum(1.0, t / 0.01)
    pieces = []
    for k in range(int(seconds / 0.5)):
        root = roots[(k // 4) % 4]
        notes = [root, root * 2 ** (4 / 12), root * 2 ** (7 / 12)]
        note = sum(np.sin(2 * np.pi * f * h * t) / h for f in notes for h in (1, 2, 3))
        pieces.append(note * envelope)
    return scale(np.concatenate(pieces), level_dbfs)


NOISES = {
    'silence': lambda: np.zeros(5 * RATE, dtype=np.int16),
    'white': lambda: scale(np.random.default_rng(3).normal(size=5 * RATE), -25.0),
    'pink': lambda: pink(5, -25.0),
    'tone_1khz': lambda: tone_mix([1000.0], 5, -25.0),
    'chords': lambda: chords(5, -25.0),
}


@pytest.mark.parametrize('noise', sorted(NOISES))
def test_non_speech_opens_no_utterance(vad, noise):
    quiet = pink(1.0, -65.0, seed=9)          # the noise starts suddenly after a quiet second
    audio = np.concatenate([quiet, NOISES[noise]()])
    for mode in ('silero', 'combined'):
        assert events(make_segmenter(VadConfig(mode=mode), None, vad), audio) == [], mode


def test_energy_endpointer_opens_on_loud_noise_that_combined_rejects(vad):
    """Why 'combined': the level alone opens on a sudden loud noise (before its floor adapts)."""
    audio = np.concatenate([pink(1.0, -65.0, seed=9), NOISES['white']()])
    assert [e[0] for e in events(EnergySegmenter(), audio)][:1] == [START]
    assert events(SileroSegmenter(VadConfig(mode='combined'), None, vad), audio) == []


def test_combined_ignores_faint_speech_that_silero_alone_hears(vad, speech):
    """Far-away talk (the recording 30 dB down, about -67 dBFS) is below min_speech_dbfs."""
    faint = (speech.astype(np.float64) * 10 ** (-30 / 20)).astype(np.int16)
    assert [e[0] for e in events(SileroSegmenter(VadConfig(mode='silero'), None, vad), faint)].count(START) >= 1
    assert events(SileroSegmenter(VadConfig(mode='combined'), None, vad), faint) == []


def test_combined_can_end_on_the_level_when_the_hall_keeps_talking(vad, speech):
    """Background talk 15 dB below the visitor keeps the VAD up after the visitor stops: 'vad_or_energy'
    (silence = VAD silence or the level back at the hall's floor) still closes on time."""
    with wave.open(str(SPEECH)) as reader:
        recording = np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2').astype(np.float64)
    from scipy.signal import resample_poly
    talk = resample_poly(recording, 20, 17)           # another, lower voice
    background = np.tile(talk, 2)[:12 * RATE] * 10 ** (-15 / 20)
    background += np.random.default_rng(0).normal(0.0, 30.0, background.size)
    onset, offset = energy_phrases(speech)[0]
    clip = recording[int((onset - 0.15) * RATE):int((offset + 0.15) * RATE)]
    at = 6 * RATE
    background[at:at + clip.size] += clip
    audio = np.clip(background, -32768, 32767).astype(np.int16)
    speech_end = at / RATE + 0.15 + offset - onset
    ends = {}
    for end in ('vad', 'vad_or_energy'):
        got = events(SileroSegmenter(VadConfig(mode='combined', combined_end=end), None, vad), audio)
        assert [state for state, _, _ in got] == [START, END], (end, got)
        assert at / RATE < got[0][1] <= at / RATE + 0.15 + 0.2
        ends[end] = got[1][1]
    assert speech_end < ends['vad_or_energy'] <= speech_end + 0.5 + 0.1
    assert ends['vad'] > ends['vad_or_energy'] + 0.5


def test_max_length_cut_does_not_reopen_until_a_pause(vad, speech):
    config = VadConfig(mode='silero', max_utterance_s=1.0)
    phrases = energy_phrases(speech)
    got = events(SileroSegmenter(config, None, vad), speech)
    # phrase 1 (~2 s) is cut at 1 s and its rest does not open a second utterance; phrases 2, 3 open
    assert got[1][0] == END and got[1][2] == 'max_length'
    starts = [t for state, t, _ in got if state == START]
    assert len(starts) == 3 and starts[1] > phrases[1][0]


def test_chunk_sizes_do_not_change_the_decisions(vad, speech):
    small = events(make_segmenter(VadConfig(mode='silero'), None, vad), speech, chunk=FRAME_SAMPLES)
    odd = events(make_segmenter(VadConfig(mode='silero'), None, vad), speech, chunk=999)
    assert [e[0] for e in small] == [e[0] for e in odd] == [START, END] * 3
    for a, b in zip(small, odd, strict=True):
        assert abs(a[1] - b[1]) < 999 / RATE + 1e-9


def test_bad_frames_are_refused_clearly(vad):
    good = np.zeros(FRAME_SAMPLES, dtype=np.int16)
    cases = {
        'length': good[:511],
        'not_finite': np.full(FRAME_SAMPLES, np.nan, dtype=np.float32),
        'dtype': good.astype(np.int32),
        'shape': good.reshape(2, -1),
        'not_array': list(good),
    }
    for reason, frame in cases.items():
        with pytest.raises(VadInputError) as info:
            vad.probability(frame)
        assert info.value.reason == reason
    with pytest.raises(VadInputError, match='16000 Hz'):
        SileroVad(sample_rate=8000)
    assert 0.0 <= vad.probability(good.astype(np.float64)) <= 1.0   # float input is fine


def test_bad_chunks_are_counted_and_leave_the_segmenter_intact(vad, speech):
    clean = events(make_segmenter(VadConfig(mode='combined'), None, vad), speech)
    segmenter = make_segmenter(VadConfig(mode='combined'), None, vad)
    bad = [np.array([], dtype=np.int16), np.full(1600, np.inf), speech[:1600].astype(np.int64), speech[:1600]]
    got = []
    for i in range(0, speech.size, CHUNK):
        if i // CHUNK in (5, 30, 55, 80):   # before, inside and after utterances
            for index, chunk in enumerate(bad):
                with pytest.raises(VadInputError):
                    segmenter.push(chunk, sample_rate=48000 if index == 3 else RATE)
        step = segmenter.push(speech[i:i + CHUNK])
        if step.state in (START, END):
            got.append((step.state, min(i + CHUNK, speech.size) / RATE, step.reason))
    assert got == clean
    assert dict(segmenter.drops) == {'empty': 4, 'not_finite': 4, 'dtype': 4, 'sample_rate': 4}
    energy = EnergySegmenter()
    with pytest.raises(VadInputError):
        energy.push(np.full(160, np.nan))
    assert energy.drops['not_finite'] == 1


def test_energy_mode_is_the_old_endpointer(speech):
    segmenter = make_segmenter(VadConfig(mode='energy'), EndpointConfig())
    assert isinstance(segmenter, EnergySegmenter)
    assert [e[0] for e in events(segmenter, speech)] == [START, END] * 3


def test_config_is_validated():
    assert validate_config(VadConfig, {'mode': 'silero', 'threshold': 0.6}, 'asr.yaml').threshold == 0.6
    for bad in ({'threshold': 0.3, 'neg_threshold': 0.4}, {'mode': 'webrtc'}, {'treshold': 0.5},
                {'end_silence_s': 5.0, 'max_utterance_s': 4.0}, {'threshold': float('nan')},
                {'combined_end': 'energy'}):
        with pytest.raises(ConfigError, match='asr.yaml'):
            validate_config(VadConfig, bad, 'asr.yaml')
