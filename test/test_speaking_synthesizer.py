"""Real speech from espeak-ng through both backends: plausible durations, Mandarin read as tones,
no silent failures, reusable from a worker thread."""
import re
import threading

import numpy as np
import pytest

from caexpo_robot.language import LANGUAGES
from caexpo_robot.speaking.synthesizer import (
    Audio,
    SynthesisError,
    create_synthesizer,
    espeak_phonemes,
    read_wav,
    write_wav,
)

BACKENDS = ['pyttsx3', 'espeak-ng']
# A phrase's duration relative to the same phrase in English. Measured on the shipped phrasebook:
# 0.77..2.8 for every spoken language. Spelling code points (Khmer through a voice) gives > 5,
# reading Mandarin tone digits as English numbers about 1.5 per syllable more (checked below).
RATIO_RANGE = (0.4, 3.3)
VALUES = {'zh': {'name': '王先生', 'hall': '5号馆', 'time': '10点30分'}}
DEFAULT_VALUES = {'name': 'Maria', 'hall': 'Hall 5', 'time': '10:30'}


@pytest.fixture(scope='module', params=BACKENDS)
def synth(request):
    return create_synthesizer(request.param)


def speak(synth, table, text, code):
    plan = table.plan(text, code)
    return plan, synth.synthesize(plan.spoken_text, plan.voice, plan.rate_wpm)


@pytest.fixture(scope='module')
def english_durations(pb, table):
    synth = create_synthesizer('espeak-ng')
    return {key: speak(synth, table, pb.say(key, 'en', **DEFAULT_VALUES).text, 'en')[1].duration_s
            for key in pb.keys()}


def test_every_voiced_language_gives_plausible_audio(pb, table, synth, english_durations):
    keys = pb.keys() if synth.name == 'pyttsx3' else ['greeting', 'offer_help', 'meeting_confirmed']
    ratios = {}
    for code in LANGUAGES:
        for key in keys:
            text = pb.say(key, code, **VALUES.get(code, DEFAULT_VALUES)).text
            plan, audio = speak(synth, table, text, code)
            assert audio.samples.dtype == np.int16 and audio.samples.ndim == 1
            assert audio.sample_rate == 22050 and audio.duration_s > 0.3
            assert np.abs(audio.samples).max() > 1000             # not silence
            # km/lo speak the read_screen phrase of their fallback language
            ratio = audio.duration_s / english_durations['read_screen' if plan.fallback == 'screen_only' else key]
            ratios[(code, key)] = round(ratio, 2)
            assert RATIO_RANGE[0] <= ratio <= RATIO_RANGE[1], (code, key, plan, audio.duration_s)
    print(f'\n{synth.name}: duration ratio to English {min(ratios.values())}..{max(ratios.values())}')


def test_the_duration_check_catches_code_point_reading(pb, english_durations):
    synth = create_synthesizer('espeak-ng')
    khmer = synth.synthesize(pb.say('greeting', 'km').text, 'en-us')   # what the plan never does
    assert khmer.duration_s / english_durations['greeting'] > RATIO_RANGE[1]


def test_mandarin_reads_tones_not_digits(pb, table):
    synth = create_synthesizer('espeak-ng')
    for key in ['greeting', 'offer_help', 'not_understood']:
        hanzi = pb.say(key, 'zh').text
        plan, audio = speak(synth, table, hanzi, 'zh')
        phonemes = espeak_phonemes(plan.spoken_text, plan.voice)
        assert '(en)' not in phonemes, phonemes                  # no switch to English to say numbers
        assert not re.search(r'[0-9]', re.sub(r'[0-9]{2,3}', '', phonemes))  # only tone contours like 214
        syllables = len(re.findall(r'[\u4e00-\u9fff]', hanzi))
        assert 0.12 <= audio.duration_s / syllables <= 0.45, (key, audio.duration_s / syllables)
        # The failure this guards against: pinyin through the plain cmn voice reads the digits.
        wrong = synth.synthesize(plan.spoken_text, 'cmn', plan.rate_wpm)
        assert '(en)' in espeak_phonemes(plan.spoken_text, 'cmn')
        assert wrong.duration_s > 1.2 * audio.duration_s   # measured 1.35 for the greeting


def test_burmese_phrases_and_pairs_synthesize(pb, table):
    synth = create_synthesizer('pyttsx3')          # Burmese goes through a subprocess there
    texts = [pb.say(k, 'my', name='Aung', hall='၅', time='၁၀ နာရီ').text for k in pb.keys()]
    for a, b in zip(texts, texts[1:] + texts[:1], strict=True):
        _, audio = speak(synth, table, a + b, 'my')
        assert audio.duration_s > 1.0


def test_unknown_voice_is_an_error_not_silence(synth):
    with pytest.raises(SynthesisError, match='no voice'):
        synth.synthesize('Hello', 'km')
    with pytest.raises(SynthesisError, match='no voice'):
        synth.synthesize('Hello', 'xx-nonexistent')
    assert synth.synthesize('Hello', 'en-us').duration_s > 0.2   # still usable afterwards


@pytest.mark.parametrize('text', ['', '  ', '\n'])
def test_empty_text_is_a_value_error(synth, text):
    with pytest.raises(ValueError):
        synth.synthesize(text, 'en-us')


def test_bad_rate_and_unspeakable_text(synth):
    with pytest.raises(ValueError, match='rate'):
        synth.synthesize('Hello', 'en-us', rate_wpm=5)
    with pytest.raises(SynthesisError):
        synth.synthesize('...', 'en-us')      # espeak-ng produces no samples: an error, not an empty Audio


def close_enough(got, want):
    # pyttsx3 and the command share libespeak-ng; Thai ends ~45 ms longer in process, every other
    # voice within 0.1 %. A missed voice or rate change is off by 10 % or more.
    return abs(got - want) <= 0.01 * want + 0.05 * 22050


def test_twenty_consecutive_calls_switch_voices(synth):
    reference = create_synthesizer('espeak-ng')
    text = 'Xin chào quý khách'
    expected = {v: len(reference.synthesize(text, v).samples) for v in ('vi', 'en-us', 'id')}
    assert all(not close_enough(expected['vi'], expected[v]) for v in ('en-us', 'id'))
    for i in range(20):
        voice = ('vi', 'en-us', 'id')[i % 3]
        audio = synth.synthesize(text, voice)
        assert close_enough(len(audio.samples), expected[voice]), (i, voice)


def test_calls_from_worker_threads(synth):
    results, errors = [], []

    def worker(voice):
        try:
            for _ in range(4):
                results.append(synth.synthesize('One moment, please.', voice).duration_s)
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(v,)) for v in ('en-us', 'id', 'ko')]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors and len(results) == 12 and min(results) > 0.3


def test_wav_round_trip(tmp_path):
    audio = Audio(np.array([0, 1000, -1000, 32767, -32768], dtype=np.int16), 22050)
    write_wav(tmp_path / 'a.wav', audio)
    back = read_wav(tmp_path / 'a.wav')
    assert back.sample_rate == 22050 and np.array_equal(back.samples, audio.samples)
    assert back.duration_s == pytest.approx(5 / 22050)
    (tmp_path / 'bad.wav').write_bytes(b'not a wav at all')
    with pytest.raises(ValueError, match='bad.wav'):
        read_wav(tmp_path / 'bad.wav')
    with pytest.raises(ValueError):
        write_wav(tmp_path / 'f.wav', Audio(np.zeros(4, dtype=np.float32), 16000))


def test_unknown_backend():
    with pytest.raises(ValueError, match='backend'):
        create_synthesizer('festival')


def test_pyttsx3_applies_every_rate_and_voice_change():
    # The same libespeak-ng underneath: the in-process audio must match the command's.
    in_process, command = create_synthesizer('pyttsx3'), create_synthesizer('espeak-ng')
    texts = {'vi': 'Xin chào quý khách', 'en-us': 'One moment, please.', 'th': 'สวัสดีครับ ยินดีต้อนรับครับ'}
    for voice, rate in [('vi', 160), ('vi', 120), ('en-us', 200), ('en-us', 150), ('vi', 175), ('th', 175),
                        ('th', 120)]:
        got = len(in_process.synthesize(texts[voice], voice, rate).samples)
        want = len(command.synthesize(texts[voice], voice, rate).samples)
        assert close_enough(got, want), (voice, rate, got, want)
