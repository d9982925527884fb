"""Spoken language identification with the real Whisper base model (int8, 2 threads), among all eleven
languages: the recorded English digits, and one short phrasebook-like question per language spoken by the
robot's espeak-ng voices. The priors (the robot's opener languages x2) move the probabilities exactly as
WhisperRecognizer.detect_language documents. The model is loaded once for the module.

Synthetic voices are a poor stand-in for visitors: only what holds with a wide margin is asserted (English
and Vietnamese); every measured figure is in docs/speech.md, "Spoken language identification"."""
import math
import re
import shutil
import wave

import pytest

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.models import assemble_whisper_model, whisper_status
from caexpo_robot.listening.whisper import WhisperRecognizer

OPENER_PRIORS = {'zh': 2.0, 'en': 2.0}   # config/greeter.yaml opener_languages [zh, en], asr.yaml opener_prior 2
# Where is the toilet, asked the way a visitor would (espeak-ng voices of config/voices.yaml)
QUESTIONS = {
    'en': 'Excuse me, where is the toilet?',
    'vi': 'Xin lỗi, nhà vệ sinh ở đâu?',
    'th': 'ขอโทษครับ ห้องน้ำอยู่ที่ไหนครับ',
    'ms': 'Maaf, di manakah tandas?',
    'id': 'Permisi, toilet di mana?',
    'my': 'တဆိတ်လောက်၊ အိမ်သာ ဘယ်မှာလဲ',
    'zh': '请问，洗手间在哪里？',
    'ko': '실례합니다, 화장실이 어디에 있어요?',
}


def with_priors(probs: list[tuple[str, float]], priors: dict[str, float]) -> list[tuple[str, float]]:
    """The documented rule: each probability times its prior (missing: 1), renormalised, best first."""
    weighted = {code: p * priors.get(code, 1.0) for code, p in probs}
    total = sum(weighted.values())
    return sorted(((code, p / total) for code, p in weighted.items()), key=lambda item: -item[1])


@pytest.fixture(scope='module')
def recognizer(tmp_path_factory):
    status = whisper_status()
    path = status.path if status.state == 'installed' else assemble_whisper_model(tmp_path_factory.mktemp('w'))
    recognizer = WhisperRecognizer(path, cpu_threads=2)
    recognizer.warm_up()
    return recognizer


@pytest.fixture(scope='module')
def digits(shared_data):
    path = shared_data / 'speech' / 'en_digits_test.wav'
    if not path.is_file():
        pytest.skip(f'no recorded speech at {path}')
    with wave.open(str(path), 'rb') as reader:
        return reader.readframes(reader.getnframes()), reader.getframerate()


def test_recorded_english_is_detected_among_all_eleven_and_priors_move_it_as_documented(recognizer, digits):
    pcm, rate = digits
    probs = recognizer.detect_language(pcm, LANGUAGES, rate)
    assert [code for code, _ in probs] and sorted(c for c, _ in probs) == sorted(LANGUAGES)
    assert math.isclose(sum(p for _, p in probs), 1.0, rel_tol=1e-6)
    # measured: en 0.834, zh 0.094, ko 0.020 (x86-64, 2 threads, int8); with the opener prior en 0.865
    assert probs[0][0] == 'en' and probs[0][1] > 0.6
    boosted = recognizer.detect_language(pcm, LANGUAGES, rate, priors=OPENER_PRIORS)
    expected = with_priors(probs, OPENER_PRIORS)
    assert [c for c, _ in boosted] == [c for c, _ in expected]
    assert all(math.isclose(p, q, rel_tol=1e-5, abs_tol=1e-9) for (_, p), (_, q) in zip(boosted, expected, strict=True))
    assert dict(boosted)['zh'] > dict(probs)['zh'] and dict(boosted)['ko'] < dict(probs)['ko']
    # a prior of 0 rules a language out; the others keep their ratios
    without_en = dict(recognizer.detect_language(pcm, LANGUAGES, rate, priors={'en': 0.0}))
    assert without_en['en'] == 0.0
    assert math.isclose(without_en['zh'] / without_en['ko'], dict(probs)['zh'] / dict(probs)['ko'], rel_tol=1e-4)
    # every candidate at 0: uniform (nothing to tell them apart)
    assert recognizer.detect_language(pcm, ('en', 'zh'), rate, priors={'en': 0, 'zh': 0}) == [('en', 0.5),
                                                                                              ('zh', 0.5)]


def test_transcribe_detects_with_the_same_priors(recognizer, digits):
    pcm, rate = digits
    hyp = recognizer.transcribe(pcm, rate, priors=OPENER_PRIORS)
    detected = recognizer.detect_language(pcm, LANGUAGES, rate, priors=OPENER_PRIORS)
    assert hyp.detected and hyp.language == 'en'
    assert re.sub(r'\D', '', hyp.text) == '100019021001803'   # 'one zero zero zero one nine oh two ...'
    assert math.isclose(hyp.language_probability, detected[0][1], rel_tol=1e-5)
    assert [c for c, _ in hyp.language_probs] == [c for c, _ in detected]
    given = recognizer.transcribe(pcm[:2 * rate], rate, language='en', priors={'en': 0.0})   # ignored: given
    assert given.language == 'en' and not given.detected


@pytest.mark.parametrize('priors', [{'en': -1.0}, {'en': float('nan')}, {'zh': math.inf}, {'xx': 2.0},
                                    {'en': 'two'}, {'en': None}])
def test_bad_priors_are_refused_before_any_decoding(priors, tmp_path):
    unloadable = WhisperRecognizer(tmp_path / 'no-model')   # would raise ModelError if it got that far
    with pytest.raises(ValueError, match='prior|language in priors'):
        unloadable.detect_language(bytes(3200), priors=priors)
    with pytest.raises(ValueError, match='prior|language in priors'):
        unloadable.transcribe(bytes(3200), priors=priors)


@pytest.fixture(scope='module')
def synthetic(recognizer):
    """{language: Whisper's probabilities among all eleven} for QUESTIONS spoken by espeak-ng."""
    if shutil.which('espeak-ng') is None:
        pytest.skip('espeak-ng is not installed')
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    from caexpo_robot.speaking.voices import VoiceTable
    voices = VoiceTable.load()
    results = {}
    for language, text in QUESTIONS.items():
        plan = voices.plan(text, language)
        results[language] = recognizer.detect_language(synthesize_speech(plan.spoken_text, plan.voice, plan.rate_wpm))
    return results


# Measured (docs/speech.md): en 0.998 and vi 0.444 (next th 0.164) are top-1; the espeak-ng voices of th, ms,
# id, my, zh and ko are heard as th or en. Only what holds with a wide margin is asserted here.
@pytest.mark.parametrize('language, at_least', [('en', 0.9), ('vi', 0.3)])
def test_synthetic_questions_detected(synthetic, language, at_least):
    probs = synthetic[language]
    assert probs[0][0] == language and probs[0][1] >= at_least and probs[0][1] >= 2 * probs[1][1]
    boosted = with_priors(probs, OPENER_PRIORS)   # the opener prior (zh, en x2) does not take Vietnamese away
    assert boosted[0][0] == language


def test_every_synthetic_question_gets_a_probability_for_all_eleven(synthetic):
    for language, probs in synthetic.items():
        assert sorted(c for c, _ in probs) == sorted(LANGUAGES), language
        assert math.isclose(sum(p for _, p in probs), 1.0, rel_tol=1e-6)
        assert probs == sorted(probs, key=lambda item: -item[1])
