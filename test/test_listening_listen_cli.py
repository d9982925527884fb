"""`caexpo-robot listen`: a hall recording heard through the asr node's own engine (AsrEngine from asr.yaml)."""
from __future__ import annotations

import json
import re
import wave
from itertools import pairwise

import numpy as np
import pytest

from caexpo_robot.cli import main
from caexpo_robot.listening.listen_cli import CHUNK_SAMPLES, chunks, read_wav, to_pcm16k

# The speaker says "one zero zero zero one / nine zero two one zero / zero one eight zero three", with a pause
# between the groups: three utterances. Whisper writes numbers its own way ('1,0001', '9-0-21-0', '01803'),
# so the digits are compared, group by group.
DIGIT_GROUPS = ['10001', '90210', '01803']


def digit_groups(text: str) -> list[str]:
    return re.sub(r'[^0-9 ]', '', text).split()


def run(capsys, *args) -> tuple[int, dict]:
    code = main(['listen', *map(str, args)])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines   # one JSON line, nothing else on stdout
    return code, json.loads(lines[0])


def write_wav(path, samples: np.ndarray, rate: int, width: int, channels: int) -> None:
    ints = np.round(np.clip(samples, -1, 1) * (2 ** (8 * width - 1) - 1)).astype(np.int64)
    frames = np.repeat(ints[:, None], channels, axis=1).reshape(-1)
    data = b''.join(int(v).to_bytes(width, 'little', signed=True) for v in frames) if width == 3 else \
        frames.astype({2: '<i2', 4: '<i4'}[width]).tobytes()
    with wave.open(str(path), 'wb') as wav:
        wav.setnchannels(channels)
        wav.setsampwidth(width)
        wav.setframerate(rate)
        wav.writeframes(data)


def assert_digits_heard(out: dict) -> None:
    utterances = out['utterances']
    assert [digit_groups(u['text']) for u in utterances] == [[group] for group in DIGIT_GROUPS], out
    assert digit_groups(out['text']) == DIGIT_GROUPS and out['text'] == ' '.join(u['text'] for u in utterances)
    assert out['language'] == 'en' and out['duration_s'] == pytest.approx(8.31, abs=0.01) and out['decode_s'] > 0
    for u in utterances:
        assert (u['language'], u['engine'], u['trusted']) == ('en', 'whisper', True), u
        # English first among the eleven (0.68-0.97 over the whole 30 s window for a new visitor; a visitor
        # whose language is given gets the shorter, faster window: ~0.5 on the first phrase)
        assert 0.4 < u['language_probability'] <= 1.0 and 0.0 < u['confidence'] <= 1.0
        assert u['languages'][0] == ['en', u['language_probability']] and len(u['languages']) == 3
        assert u['words'] and all(0.0 <= w['confidence'] <= 1.0 and w['word'] for w in u['words'])
    spans = [(u['start_s'], u['end_s']) for u in utterances]
    assert all(start < end for start, end in spans) and all(a[1] <= b[0] for a, b in pairwise(spans))
    assert spans[-1][1] <= out['duration_s']


def test_the_recorded_digits_are_three_utterances_heard_by_whisper_in_english(capsys, shared_data):
    code, out = run(capsys, shared_data / 'speech' / 'en_digits_test.wav')
    assert code == 0, out
    assert_digits_heard(out)


def test_a_44k_24_bit_stereo_copy_with_the_language_known_is_heard_the_same(tmp_path, capsys, shared_data):
    samples, rate = read_wav(shared_data / 'speech' / 'en_digits_test.wav')
    from scipy.signal import resample_poly
    resampled = resample_poly(samples, 441, rate // 100).astype(np.float32)     # 44.1 kHz
    path = tmp_path / 'stereo24.wav'
    write_wav(path, resampled, 44100, 3, 2)
    again, again_rate = read_wav(path)
    assert again_rate == 44100 and np.allclose(again[:1000], resampled[:1000], atol=1e-4)
    code, out = run(capsys, path, '--language', 'en')
    assert code == 0, out
    assert_digits_heard(out)


def test_16_bit_16k_samples_reach_the_engine_unchanged_in_whole_100ms_chunks(tmp_path):
    ints = np.random.default_rng(2).integers(-32768, 32767, 16000 + 250).astype('<i2')
    path = tmp_path / 'exact.wav'
    with wave.open(str(path), 'wb') as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(16000)
        wav.writeframes(ints.tobytes())
    pcm = to_pcm16k(*read_wav(path))
    assert np.array_equal(pcm, ints)
    parts = list(chunks(pcm))
    assert [t for _, t in parts] == [i / 10 for i in range(11)]
    assert all(chunk.size == CHUNK_SAMPLES for chunk, _ in parts)
    assert np.array_equal(parts[-1][0][:250], ints[-250:]) and not parts[-1][0][250:].any()   # padded: silence
    assert to_pcm16k(np.zeros(8000, np.float32), 8000).size == 16000   # any rate: 8 kHz doubled


def test_silence_is_no_utterance(tmp_path, capsys):
    path = tmp_path / 'silence.wav'
    write_wav(path, np.random.default_rng(1).normal(0, 0.001, 16000 * 3).astype(np.float32), 16000, 2, 1)
    code, out = run(capsys, path)
    assert code == 0, out
    assert out['utterances'] == [] and out['text'] == '' and out['language'] is None and out['duration_s'] == 3.0


@pytest.mark.parametrize('content', [b'not audio at all', b'RIFF\x10\x00\x00\x00WAVEfmt ', b''])
def test_a_file_that_is_not_audio_is_an_error_line_and_exit_1(tmp_path, capsys, content):
    path = tmp_path / 'bad.wav'
    path.write_bytes(content)
    code, out = run(capsys, path)
    assert code == 1 and out['file'] == str(path) and out['error']
    code, out = run(capsys, tmp_path / 'missing.wav')
    assert code == 1 and 'error' in out


def test_a_bad_config_or_a_language_the_config_does_not_hear_is_an_error_line(tmp_path, capsys):
    audio = tmp_path / 'quiet.wav'
    write_wav(audio, np.zeros(1600, np.float32), 16000, 2, 1)
    config = tmp_path / 'asr.yaml'
    config.write_text('languages: [en]\nengins: {}\n')   # misspelt key
    code, out = run(capsys, audio, '--config', config)
    assert code == 1 and 'engins' in out['error'], out
    config.write_text('languages: [en]\n')
    code, out = run(capsys, audio, '--config', config, '--language', 'vi')
    assert code == 1 and 'does not hear vi' in out['error'], out
