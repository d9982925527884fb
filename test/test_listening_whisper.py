"""The Whisper recognizer with the real Whisper base model (int8, 2 threads) on the recorded English
digits: exact transcript, spoken language ID among the robot's languages, per-word probabilities,
resampled input, concurrent callers and bad input. The model is loaded once for the module."""
import re
import threading
import wave

import numpy as np
import pytest
from scipy.signal import resample_poly

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.models import ModelError, assemble_whisper_model, whisper_status
from caexpo_robot.listening.whisper import (
    MAX_NEW_TOKENS,
    WHISPER_CODES,
    WhisperHypothesis,
    WhisperRecognizer,
    token_budget,
)

# What is said in en_digits_test.wav (the expected text of the Vosk English-digits test in
# test_listening_recognizer.py, skipped there while no English Vosk model is installed).
SPOKEN = 'one zero zero zero one nine oh two one oh zero one eight zero three'
DIGIT = {'zero': '0', 'oh': '0', 'one': '1', 'two': '2', 'three': '3', 'four': '4', 'five': '5',
         'six': '6', 'seven': '7', 'eight': '8', 'nine': '9'}


def digits_of_words(text: str) -> str:
    return ''.join(DIGIT[w] for w in text.split())


def digits_of_numerals(text: str) -> str:
    """Whisper writes spoken digits as numerals with separators ('1-0-0-0-1', '90210', '1,001')."""
    assert re.fullmatch(r'[\d\s,.\-]+', text), f'not only numerals: {text!r}'
    return re.sub(r'\D', '', text)


@pytest.fixture(scope='module')
def model_dir(tmp_path_factory):
    status = whisper_status()
    if status.state == 'installed':  # assembled by `make setup`
        return status.path
    return assemble_whisper_model(tmp_path_factory.mktemp('whisper'))  # from the installed wheels


@pytest.fixture(scope='module')
def recognizer(model_dir):
    recognizer = WhisperRecognizer(model_dir, cpu_threads=2)
    recognizer.warm_up()
    return recognizer


@pytest.fixture(scope='module')
def digits(shared_data):
    with wave.open(str(shared_data / 'speech' / 'en_digits_test.wav'), 'rb') as reader:
        assert reader.getnchannels() == 1 and reader.getsampwidth() == 2
        return reader.readframes(reader.getnframes()), reader.getframerate()


def test_english_digits_heard_exactly_with_the_language_detected(recognizer, digits):
    pcm, rate = digits
    hypothesis = recognizer.transcribe(pcm, sample_rate=rate)  # language among all eleven
    assert isinstance(hypothesis, WhisperHypothesis)
    assert digits_of_numerals(hypothesis.text) == digits_of_words(SPOKEN) == '100019021001803'
    assert hypothesis.language == 'en' and hypothesis.detected
    assert hypothesis.language_probability > 0.5
    codes = [code for code, _ in hypothesis.language_probs]
    assert sorted(codes) == sorted(LANGUAGES) and codes[0] == 'en'
    assert sum(p for _, p in hypothesis.language_probs) == pytest.approx(1.0)
    assert hypothesis.words and all(0.0 <= w.conf <= 1.0 for w in hypothesis.words)
    assert all(0.0 <= w.start <= w.end <= hypothesis.duration_s + 0.5 for w in hypothesis.words)
    assert ''.join(w.word for w in hypothesis.words).replace(' ', '') == hypothesis.text.replace(' ', '')
    assert 0.3 < hypothesis.mean_confidence <= 1.0
    assert hypothesis.duration_s == pytest.approx(len(pcm) / 2 / rate)


def test_language_detection_is_restricted_to_the_candidates_and_renormalised(recognizer, digits):
    pcm, rate = digits
    three = recognizer.detect_language(pcm, ('zh', 'ko', 'fil'), sample_rate=rate)
    assert sorted(code for code, _ in three) == ['fil', 'ko', 'zh']  # our 'fil', Whisper's 'tl'
    assert sum(p for _, p in three) == pytest.approx(1.0)
    assert [p for _, p in three] == sorted((p for _, p in three), reverse=True)
    assert WHISPER_CODES['fil'] == 'tl' and WHISPER_CODES['zh'] == 'zh'
    # 48 kHz input is resampled to Whisper's 16 kHz: English still wins among all eleven
    samples = np.frombuffer(pcm, dtype='<i2').astype(np.float64)
    at48k = np.clip(resample_poly(samples, 48000, rate), -32768, 32767).astype('<i2').tobytes()
    ranked = recognizer.detect_language(at48k, sample_rate=48000)
    assert ranked[0][0] == 'en' and ranked[0][1] > 0.5 and len(ranked) == len(LANGUAGES)


def test_a_given_language_skips_detection_and_callers_can_share_the_model(recognizer, digits):
    pcm, rate = digits
    head = pcm[:int(3.0 * rate) * 2]  # 'one zero zero zero one' and a little more
    alone = recognizer.transcribe(head, rate, language='en', beam_size=1)
    assert alone.language == 'en' and not alone.detected and alone.language_probability == 1.0
    assert alone.language_probs == () and alone.text.startswith('1')
    detected = recognizer.transcribe(head, rate, beam_size=1)  # the detection's encoder output is reused
    assert detected.detected and detected.language == 'en' and detected.text == alone.text
    assert [w.conf for w in detected.words] == pytest.approx([w.conf for w in alone.words], abs=1e-4)
    other = WhisperRecognizer(recognizer.model_dir, cpu_threads=2, beam_size=1)
    results = {}

    def decode(key, rec):
        results[key] = rec.transcribe(head, rate, language='en').text

    threads = [threading.Thread(target=decode, args=(i, rec)) for i, rec in enumerate((other, other, other))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == {0: alone.text, 1: alone.text, 2: alone.text}
    assert other._model() is recognizer._model()  # one model per process


@pytest.mark.parametrize('audio, rate, message', [
    (b'', 16000, 'empty'),
    (b'\x00\x01\x02', 16000, 'odd byte count'),
    (np.array([0.1, np.nan, 0.2], dtype=np.float32), 16000, 'NaN'),
    (np.array([0.1, np.inf], dtype=np.float64), 16000, 'NaN or infinite'),
    (np.zeros((2, 800), dtype=np.int16), 16000, '1-D'),
    (np.array([], dtype=np.int16), 16000, 'empty'),
    (np.zeros(800, dtype=np.int32), 16000, 'int16 or float'),
    ('not audio', 16000, 'bytes or a numpy array'),
    (bytes(3200), 4000, 'outside'),
    (bytes(3200), 44100.0, 'integer'),
])
def test_bad_input_is_a_clear_error(recognizer, audio, rate, message):
    with pytest.raises(ValueError, match=message):
        recognizer.transcribe(audio, sample_rate=rate)
    with pytest.raises(ValueError, match=message):
        recognizer.detect_language(audio, sample_rate=rate)


def test_bad_languages_are_a_clear_error(recognizer):
    with pytest.raises(ValueError, match='unknown language xx'):
        recognizer.transcribe(bytes(3200), language='xx')
    with pytest.raises(ValueError, match='unknown candidate language tl'):  # Whisper's code, not ours
        recognizer.detect_language(bytes(3200), ('en', 'tl'))
    with pytest.raises(ValueError, match='no candidate language'):
        recognizer.transcribe(bytes(3200), candidates=())


def test_a_model_not_assembled_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path))
    recognizer = WhisperRecognizer()
    with pytest.raises(ModelError, match='caexpo-robot models assemble whisper-base'):
        recognizer.transcribe(bytes(3200), language='en')
    assert not recognizer.loaded
    (tmp_path / 'broken').mkdir()
    (tmp_path / 'broken' / 'model.bin').write_bytes(b'\x00' * 100)
    with pytest.raises(ModelError, match='faster-whisper cannot load'):
        WhisperRecognizer(tmp_path / 'broken').transcribe(bytes(3200), language='en')


def test_token_budget_bounds_a_repetition_loop_but_not_speech(recognizer):
    tokenizer = recognizer._model().model.hf_tokenizer
    # ten seconds of fast English (~3.5 words/s) fits; a 224-token loop on a 3 s utterance does not
    fast = ' ' + ' '.join(['please tell me where the exhibition hall of the Lao pavilion is'] * 3)
    assert len(tokenizer.encode(fast).ids) < token_budget('en', 10.0)
    assert token_budget('en', 3.0) < 100 and token_budget('th', 3.0) < 120
    assert token_budget('my', 3.0) == token_budget('lo', 30.0) == MAX_NEW_TOKENS
    assert token_budget('en', 0.0) == 16
