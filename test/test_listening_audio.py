"""Audio format: chunk validation, WAV reading, microphone capture without a device, endpointing,
mute gate (pure logic, no Vosk)."""
import wave

import numpy as np
import pytest

from caexpo_robot.listening.audio import (
    SAMPLE_RATE,
    AudioDeviceError,
    AudioFormatError,
    ChunkValidator,
    MicrophoneCapture,
    chunk_bytes,
    iter_wav_chunks,
    rms_dbfs,
)
from caexpo_robot.listening.config import EndpointConfig
from caexpo_robot.listening.endpoint import CONTINUE, END, IDLE, START, MuteGate, UtteranceSegmenter
from caexpo_robot.sim.synthetic_audio import noise


def _tone(seconds, amplitude, rate=SAMPLE_RATE):
    t = np.arange(int(seconds * rate)) / rate
    return np.clip(np.round(amplitude * np.sin(2 * np.pi * 440 * t)), -32768, 32767).astype(np.int16)


def test_valid_chunk_becomes_int16_samples():
    validator = ChunkValidator()
    samples = validator.validate(_tone(0.1, 1000).tobytes())
    assert samples.dtype == np.int16 and samples.size == 1600
    assert validator.stats() == {'accepted': 1, 'clipped': 0, 'dropped': 0, 'drops': {}}


def test_bad_chunks_are_counted_drops_with_reasons():
    validator = ChunkValidator()
    good = _tone(0.1, 1000).tobytes()
    assert validator.validate(b'') is None
    assert validator.validate(good[:-1]) is None  # odd byte count
    assert validator.validate(good, sample_rate=44100) is None
    assert validator.validate(good, sample_rate=0) is None
    assert validator.validate(good, channels=2) is None
    assert validator.validate('text') is None
    assert validator.validate(bytes(2 * SAMPLE_RATE * 3)) is None  # 3 s in one chunk
    assert dict(validator.drops) == {'empty': 1, 'odd_byte_count': 1, 'sample_rate': 2,
                                     'channels': 1, 'not_bytes': 1, 'too_long': 1}
    assert validator.accepted == 0 and validator.dropped == 7


def test_integer_multiple_rates_are_decimated():
    validator = ChunkValidator()
    tone48 = _tone(0.1, 8000, rate=48000)
    samples = validator.validate(tone48.tobytes(), sample_rate=48000)
    assert samples.size == 1600
    # the 440 Hz tone survives decimation at (nearly) the same level
    assert abs(rms_dbfs(samples) - rms_dbfs(tone48)) < 0.5
    assert validator.validate(_tone(0.1, 8000, rate=32000).tobytes(), sample_rate=32000).size == 1600


def test_clipping_is_counted_but_chunk_kept():
    validator = ChunkValidator()
    clipped = _tone(0.1, 60000)  # a gain far too high: flat tops at full scale
    assert validator.validate(clipped.tobytes()) is not None
    assert validator.validate(_tone(0.1, 20000).tobytes()) is not None
    assert validator.clipped == 1 and validator.accepted == 2


def test_levels():
    assert rms_dbfs(np.zeros(100, np.int16)) == -120.0
    assert abs(rms_dbfs(np.frombuffer(noise(1.0, -30.0), np.int16)) - (-30.0)) < 0.2


def test_wav_reader_chunks_the_recorded_file(shared_data):
    path = shared_data / 'speech' / 'en_digits_test.wav'
    chunks = list(iter_wav_chunks(path, chunk_ms=100))
    with wave.open(str(path)) as reader:
        total = reader.getnframes() * 2
    assert sum(len(c) for c in chunks) == total
    assert all(len(c) == chunk_bytes(100) for c in chunks[:-1])
    assert 0 < len(chunks[-1]) <= chunk_bytes(100)


@pytest.mark.parametrize('channels,width,rate,message', [
    (2, 2, 16000, 'need mono'), (1, 1, 16000, 'need 16-bit'), (1, 2, 22050, 'need 16000 Hz')])
def test_wav_reader_refuses_other_formats(tmp_path, channels, width, rate, message):
    path = tmp_path / 'bad.wav'
    with wave.open(str(path), 'wb') as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(bytes(channels * width * 100))
    with pytest.raises(AudioFormatError, match=message) as info:
        list(iter_wav_chunks(path))
    assert 'sox' in str(info.value)


def test_wav_reader_refuses_non_wav(tmp_path):
    path = tmp_path / 'noise.wav'
    path.write_bytes(b'this is not a wav file at all')
    with pytest.raises(AudioFormatError):
        list(iter_wav_chunks(path))
    with pytest.raises(ValueError):
        list(iter_wav_chunks(path, chunk_ms=0))


def test_microphone_without_device_raises_clear_error():
    import sounddevice as sd
    has_input = any(d['max_input_channels'] > 0 for d in sd.query_devices())
    with pytest.raises(AudioDeviceError, match='no input device named like'
                       if has_input else 'no audio input device'):
        MicrophoneCapture(device='no-such-microphone-xyz').start()
    with pytest.raises(AudioDeviceError):
        MicrophoneCapture(device=999).start()
    if not has_input:
        capture = MicrophoneCapture()
        with pytest.raises(AudioDeviceError, match='no audio input device'):
            capture.start()
        assert not capture.running
        capture.stop()  # harmless when never started


def test_capture_queue_drops_oldest_when_consumer_is_late():
    capture = MicrophoneCapture(queue_size=3)
    for i in range(5):
        capture._on_audio(bytes([i, 0]), 1, None, None)  # what PortAudio's thread calls
    assert capture.overflow_drops == 2
    assert [capture.read(0.01) for _ in range(3)] == [bytes([2, 0]), bytes([3, 0]), bytes([4, 0])]
    assert capture.read(0.01) is None


def _run(segmenter, levels, duration=0.1):
    return [segmenter.push(level, duration).state for level in levels]


def test_segmenter_opens_on_speech_and_closes_after_silence():
    segmenter = UtteranceSegmenter(EndpointConfig(end_silence_s=0.5, start_speech_ms=200))
    states = _run(segmenter, [-70] * 10 + [-20] * 5 + [-70] * 6)
    assert states[:10] == [IDLE] * 10
    assert states[10:12] == [IDLE, START]
    assert states[12:19] == [CONTINUE] * 7
    assert states[19] == END and states[20] == IDLE


def test_segmenter_ignores_clicks_and_cuts_long_utterances():
    segmenter = UtteranceSegmenter(EndpointConfig(max_utterance_s=2.0))
    assert _run(segmenter, [-70, -20, -70, -70, -20, -70]) == [IDLE] * 6  # 100 ms clicks
    states = _run(segmenter, [-25] * 40)  # the hall gets loud and stays loud
    assert states.count(START) == 1 and states.count(END) == 1
    assert states[-1] == IDLE and segmenter.noise_floor >= -26  # the floor followed the hall


def test_segmenter_follows_a_rising_noise_floor():
    segmenter = UtteranceSegmenter(EndpointConfig(noise_adapt_s=2.0, min_speech_dbfs=-60))
    _run(segmenter, [-70] * 50)
    assert -71 < segmenter.noise_floor < -69
    _run(segmenter, [-62] * 100)  # a little louder but below the margin: floor follows
    assert -63 < segmenter.noise_floor < -61.5


def test_mute_gate_covers_speaking_and_tail():
    gate = MuteGate(tail_s=0.3)
    assert gate.admits(0.0)
    gate.set_speaking(True, 1.0)
    assert not gate.admits(1.0) and not gate.admits(5.0)
    gate.set_speaking(False, 5.0)
    assert not gate.admits(5.0) and not gate.admits(5.29)
    assert gate.admits(5.3) and gate.admits(9.0)
    with pytest.raises(ValueError):
        MuteGate(tail_s=-1)
