"""AsrEngine with everything real: Whisper base, Vosk Korean, Silero VAD, the speexdsp echo canceller.

The packaged config/asr.yaml, audio fed in 100 ms chunks timed as a microphone delivers them. Whisper
decodes run inline (`engine.run`), as the `listen` command does; the asr node runs the same calls on a
worker thread (test_node_asr.py).
"""
import re
import shutil
import wave

import numpy as np
import pytest

from caexpo_robot.listening.config import load_asr_config
from caexpo_robot.listening.language_choice import script_lid
from caexpo_robot.listening.models import model_status, whisper_status
from caexpo_robot.listening.recognizer import AsrEngine, BargeInHeard, Decode, Utterance
from caexpo_robot.sim.microphone import EchoPath, SimulatedMicrophone
from caexpo_robot.sim.synthetic_audio import synthesize_speech

pytestmark = [
    pytest.mark.skipif(whisper_status().state != 'installed', reason='Whisper base not assembled'),
    pytest.mark.skipif(model_status('ko').state != 'installed', reason='Korean Vosk model not installed'),
    pytest.mark.skipif(shutil.which('espeak-ng') is None, reason='espeak-ng not installed'),
]
CHUNK = 1600   # 100 ms at 16 kHz


def replace(config, **changes):
    return type(config).model_validate({**config.model_dump(), **changes})


@pytest.fixture(scope='module')
def config():
    return load_asr_config()


@pytest.fixture(scope='module')
def engine(config):
    # script_lid: the text LID the chooser weighs, deterministic and fast (the node uses langid's)
    return AsrEngine(config, text_lid=script_lid)


@pytest.fixture(scope='module')
def digits(shared_data):
    with wave.open(str(shared_data / 'speech' / 'en_digits_test.wav'), 'rb') as wav:
        assert wav.getframerate() == 16000 and wav.getnchannels() == 1
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype='<i2')


def feed(engine, pcm: np.ndarray, t0: float = 0.0) -> list:
    """The audio in 100 ms chunks from time t0, every Whisper decode run inline, then 1 s of silence."""
    pcm = np.concatenate([pcm, np.zeros(16000, np.int16)])
    events = []
    for i in range(0, pcm.size - CHUNK + 1, CHUNK):
        events += engine.run(engine.process(pcm[i:i + CHUNK].tobytes(), t0 + i / 16000))
    return events + engine.run(engine.flush(t0 + pcm.size / 16000))


def utterances(events) -> list[Utterance]:
    return [e for e in events if isinstance(e, Utterance)]


def digit_groups(text: str) -> list[str]:
    """Whisper writes spoken digits its own way ('1,0001', '9-0-21-0'): the digits, per spoken group."""
    return [group for group in re.sub(r'[^0-9 ]', '', text).split() if group]


def test_the_recorded_english_digits_are_heard_through_whisper(engine, digits):
    # The recording says "one zero zero zero one / nine zero two one zero / zero one eight zero three" with
    # ~1.4 s pauses: three utterances. Nothing tells the engine the language: Whisper's spoken language ID
    # (en among the eleven) outweighs the Korean Vosk recognizer, which hears Korean words at ~0.9 confidence.
    engine.new_visitor()
    vetoed, stopped = engine.counters['vosk_hypotheses_vetoed'], engine.counters['vosk_stopped_by_language_id']
    heard = utterances(feed(engine, digits))
    assert [digit_groups(u.text) for u in heard] == [['10001'], ['90210'], ['01803']]
    for utterance in heard:
        assert utterance.language == 'en' and utterance.engine == 'whisper' and utterance.trusted
        assert utterance.language_probability > 0.5
        assert utterance.words and all(0.0 <= w.conf <= 1.0 for w in utterance.words)
    # the Korean recognizer wrote Korean words for it; Whisper gave Korean < 5 %: that hypothesis was dropped, at
    # the end (vetoed) or, Whisper sure early, while the visitor still spoke (Vosk stopped hearing it)
    assert heard[0].decision.reason == 'locked' and 'ko' not in heard[0].hypotheses
    assert (engine.counters['vosk_hypotheses_vetoed'] - vetoed) + (engine.counters['vosk_stopped_by_language_id']
                                                                   - stopped) >= 1, engine.counters
    assert set(heard[1].hypotheses) == {'en'}   # locked: only Whisper hears the next ones


def test_decoding_starts_at_the_first_pause_and_is_confirmed_at_the_end(engine, digits):
    engine.new_visitor()
    before = dict(engine.counters)
    # one phrase: the decode sent at the 0.3 s pause is the utterance's result (nothing voiced after it). A
    # microphone's stream always has the hall before the voice (the utterance's preroll): 0.5 s of it first.
    # (Cut 80 ms before the voice with nothing before it, the 15 s encoder window read '1 000 000 1 You' with
    # a no-speech probability of 0.56: Whisper base needs the lead-in its training windows had.)
    first_phrase = digits[int(0.8 * 16000):int(3.0 * 16000)]
    hall = (np.random.default_rng(0).normal(0, 33, int(0.5 * 16000))).astype(np.int16)   # -60 dBFS hall
    events = feed(engine, np.concatenate([hall, first_phrase]))
    decodes = [e for e in events if isinstance(e, Decode)]
    assert decodes == [] and len(utterances(events)) == 1   # run() replaced them by their results
    assert engine.counters['decodes_at_pause'] - before.get('decodes_at_pause', 0) == 1
    assert engine.counters['decodes_reused'] - before.get('decodes_reused', 0) == 1
    # two phrases 0.3 s apart (a pause, not an end): the first decode is superseded, one utterance in all
    second_phrase = digits[int(4.0 * 16000):int(5.6 * 16000)]
    gap = hall[:int(0.3 * 16000)]
    joined = np.concatenate([hall, first_phrase[:int(1.9 * 16000)], gap, second_phrase])
    engine.new_visitor()
    superseded = engine.counters['decodes_superseded']
    heard = utterances(feed(engine, joined))
    assert len(heard) == 1 and engine.counters['decodes_superseded'] > superseded
    # both phrases in the one transcript (not checked digit by digit: Whisper base hears these two phrases
    # run together as '1,0001, 1020' or '1001 1020' depending on the few ms the VAD keeps around them; greedy
    # decoding looped '1-0-0-0-1-0-0-0-...' until the sampling fallback)
    groups = digit_groups(heard[0].text)
    assert len(groups) == 2 and groups[0].startswith('1') and groups[1].endswith('0')


def decodes_recorded(engine, monkeypatch) -> list:
    """(request, result) of every decode the engine runs from now on."""
    runs, real = [], engine.decode
    monkeypatch.setattr(engine, 'decode', lambda request: runs.append((request, real(request))) or runs[-1][1])
    return runs


def test_a_new_visitor_s_language_is_identified_while_they_speak(engine, digits, monkeypatch):
    # The first phrase is 2.2 s long: its language is identified once 2 s were heard (early_language_id_s), on
    # the whole 30 s window; the decode at the pause only transcribes, with those probabilities.
    runs = decodes_recorded(engine, monkeypatch)
    hall = (np.random.default_rng(1).normal(0, 33, int(0.5 * 16000))).astype(np.int16)
    engine.new_visitor()
    heard = utterances(feed(engine, np.concatenate([hall, digits[int(0.8 * 16000):int(3.0 * 16000)]])))
    assert [r.identify_only for r, _ in runs] == [True, False]
    (lid_request, lid), (request, result) = runs
    assert lid.probabilities[0][0] == 'en' and lid.probabilities[0][1] >= 0.7   # sure: lock_probability
    assert request.language_id is lid_request.language_id and request.language_id.probabilities == lid.probabilities
    assert result.probabilities == lid.probabilities   # not identified again
    # (the digits themselves are not checked here: cut from the recording, this phrase reads '1,0001' or
    # '1 000 01' depending on a chunk more or less of the hall before it; the whole recording is checked above)
    assert len(heard) == 1 and heard[0].language == 'en' and digit_groups(heard[0].text)


def test_an_unsure_early_language_id_is_done_again_on_the_whole_utterance(config, digits, monkeypatch):
    unsure = replace(config, language_choice={**config.language_choice.model_dump(), 'lock_probability': 0.999})
    engine = AsrEngine(unsure, text_lid=script_lid)
    runs = decodes_recorded(engine, monkeypatch)
    hall = (np.random.default_rng(1).normal(0, 33, int(0.5 * 16000))).astype(np.int16)
    engine.new_visitor()
    heard = utterances(feed(engine, np.concatenate([hall, digits[int(0.8 * 16000):int(3.0 * 16000)]])))
    (lid_request, lid), (request, result) = runs
    assert lid_request.identify_only and lid.probabilities[0][1] < 0.999 and not request.language_id.probabilities
    assert result.probabilities != lid.probabilities and result.probabilities[0][0] == 'en'   # identified again
    assert len(heard) == 1 and heard[0].language == 'en'


def test_an_utterance_only_vosk_hears_ends_by_the_level_whisper_s_by_silero(engine):
    # combined_end_vosk (vad_or_energy): a visitor locked to Korean is answered once the level is back at the
    # hall's floor for end_silence_s (Vosk's words are ready then); Whisper's utterances keep Silero's end.
    pcm = np.frombuffer(synthesize_speech('음식 어디에 있어요', 'ko', 140), dtype='<i2')
    rules = {}
    for language in ('ko', None):
        engine.new_visitor(language=language)
        started = engine.counters['utterances_started']
        for i in range(0, pcm.size - CHUNK + 1, CHUNK):
            engine.run(engine.process(pcm[i:i + CHUNK].tobytes(), i / 16000))
            if engine.counters['utterances_started'] > started:
                rules[language] = engine.segmenter.end_on_energy
                break
        engine.run(engine.flush(pcm.size / 16000))
    assert rules == {'ko': True, None: False}


def test_a_korean_visitor_who_tapped_korean_is_heard_by_vosk_in_grammar_mode(engine):
    engine.set_grammar('expo_questions')
    try:
        engine.new_visitor(language='ko')
        pcm = np.frombuffer(synthesize_speech('음식 어디에 있어요', 'ko', 140), dtype='<i2')
        events = feed(engine, np.concatenate([np.zeros(8000, np.int16), pcm]))
    finally:
        engine.set_grammar(None)
    heard = utterances(events)
    assert len(heard) == 1
    assert heard[0].engine == 'vosk' and heard[0].language == 'ko' and '음식' in heard[0].text.split()


def test_burmese_is_recognised_but_not_transcribed_the_screen_is_offered(engine, digits):
    # my, km and lo: trust 1.0 by default. A visitor known to speak Burmese (tapped) who talks gets an
    # untrusted utterance with no text: the robot offers the screen in Burmese instead of guessing.
    assert {'my', 'km', 'lo'}.isdisjoint(engine.trusted_languages)
    assert {'my', 'km', 'lo'} <= set(engine.languages)
    engine.new_visitor(language='my')
    heard = utterances(feed(engine, digits[int(0.8 * 16000):int(3.0 * 16000)]))
    assert len(heard) == 1
    assert heard[0].language == 'my' and not heard[0].trusted and heard[0].text == ''


def test_a_trust_threshold_marks_weak_transcripts_untrusted(config, digits):
    strict = AsrEngine(replace(config, trust={'en': 0.99}, languages=['en', 'zh']), text_lid=script_lid)
    heard = utterances(feed(strict, digits[int(0.8 * 16000):int(3.0 * 16000)]))
    assert len(heard) == 1 and heard[0].language == 'en' and heard[0].text
    assert heard[0].confidence < 0.99 and not heard[0].trusted


def test_opener_languages_are_priors_and_a_tap_locks(engine):
    engine.new_visitor(expected=('vi', 'en', 'xx'))
    assert engine.priors == {'vi': 2.0, 'en': 2.0}
    engine.choose_language('vi')
    assert engine.chooser.locked == 'vi' and engine.chooser.wanted_languages() == ('vi',)
    engine.new_visitor()
    assert engine.chooser.locked is None and engine.priors == {}


def test_without_whisper_the_vosk_languages_still_run_and_the_rest_say_why(config, tmp_path):
    engine = AsrEngine(replace(config, whisper={'model_dir': str(tmp_path / 'none')}), text_lid=script_lid)
    assert engine.languages == ('ko',) and engine.whisper is None
    assert engine.statuses['en'].state == 'missing' and 'assemble whisper-base' in engine.statuses['en'].detail


def robot_and_visitor(visitor: np.ndarray | None, visitor_at: float):
    """A robot that says a long sentence from t=1 s (heard through the simulator's echo path) and a
    visitor who may start speaking over it: (engine-ready chunks, the robot's 16 kHz reference)."""
    robot = np.frombuffer(synthesize_speech(
        'Welcome to the China ASEAN Expo. I can help you find exhibitors, book meetings and find your way. '
        'Please tell me what you are looking for today.', 'en-us', 160), dtype='<i2')
    microphone = SimulatedMicrophone(noise_dbfs=-60.0, echo=EchoPath())
    microphone.play(1.0, robot, key='greeting')
    if visitor is not None:
        microphone.add(visitor_at, visitor)
    return microphone, robot


def listen_to(engine, microphone, seconds: float, stop_on_barge_in: bool = True) -> list:
    """Chunks from the microphone; a barge-in stops the robot 50 ms later (the tts node's cancel), in the
    speaker and in the canceller's reference alike."""
    events = []
    t = 0.0
    while t < seconds - 1e-9:
        new = engine.run(engine.process(microphone.chunk(t, 0.1), t))
        for barge in (e for e in new if isinstance(e, BargeInHeard) and stop_on_barge_in):
            microphone.stop('greeting', barge.fired_t + 0.05)
            engine.robot_stopped(barge.fired_t + 0.05, 'greeting')
        events += new
        t = round(t + 0.1, 6)
    return events + engine.run(engine.flush(t))


def test_the_robot_never_transcribes_its_own_voice(config):
    engine = AsrEngine(config, text_lid=script_lid)
    microphone, robot = robot_and_visitor(None, 0.0)
    engine.robot_audio(robot, 1.0, 'greeting')
    events = listen_to(engine, microphone, 1.0 + robot.size / 16000 + 1.0)
    assert utterances(events) == [] and not [e for e in events if isinstance(e, BargeInHeard)]
    assert engine.stats()['echo_reduction_db'] > 15.0   # the canceller converged on the echo path


def test_a_visitor_speaking_over_the_robot_stops_it_within_300_ms_and_is_heard(config, digits):
    engine = AsrEngine(config, text_lid=script_lid)
    phrase = digits[int(3.9 * 16000):int(5.6 * 16000)]   # "nine zero two one zero"
    level = 20 * np.log10(np.sqrt(np.mean(phrase.astype(float).reshape(-1, 320) ** 2, axis=1)) / 32768 + 1e-12)
    voice_onset = 5.0 + np.argmax(level > -40.0) * 320 / 16000   # first 20 ms frame of voice
    microphone, robot = robot_and_visitor(phrase, 5.0)
    engine.robot_audio(robot, 1.0, 'greeting')
    events = listen_to(engine, microphone, 9.0)
    barges = [e for e in events if isinstance(e, BargeInHeard)]
    assert len(barges) == 1
    assert barges[0].fired_t - voice_onset <= 0.3 and barges[0].onset_t >= voice_onset - 0.1
    heard = utterances(events)
    assert len(heard) == 1 and heard[0].language == 'en' and digit_groups(heard[0].text) == ['90210']


def test_a_barge_in_the_robot_does_not_follow_stops_listening_through_its_voice(config, digits):
    # The dialogue may not stop the robot (a farewell is always finished): a second later the engine goes
    # back to not hearing through the robot's voice, so its own words are never transcribed.
    engine = AsrEngine(config, text_lid=script_lid)
    microphone, robot = robot_and_visitor(digits[int(3.9 * 16000):int(4.6 * 16000)], 5.0)   # "nine zero"
    engine.robot_audio(robot, 1.0, 'greeting')
    events = listen_to(engine, microphone, 1.0 + robot.size / 16000 + 1.0, stop_on_barge_in=False)
    assert len([e for e in events if isinstance(e, BargeInHeard)]) == 1
    assert engine.counters['barge_ins_not_followed'] == 1
    robot_words = {'welcome', 'china', 'asean', 'expo', 'exhibitors', 'meetings', 'looking', 'today'}
    for utterance in utterances(events):
        assert not robot_words & set(re.findall(r'[a-z]+', utterance.text.lower())), utterance.text


def test_only_a_cut_utterance_ends_the_reference(config):
    # A queued utterance cancelled while another plays must not end the playing one's reference (its echo
    # would then reach the recognizers); an utterance that starts where another was cut keeps its own.
    engine = AsrEngine(config, text_lid=script_lid)
    tone = (3000 * np.sin(np.arange(32000) / 5)).astype(np.int16)   # 2 s
    engine.robot_audio(tone, 1.0, 'farewell')
    engine.robot_stopped(1.5, 'queued-prompt')
    assert engine.echo.far_end.playing(2.5, 2.6)
    engine.robot_audio(tone, 2.0, 'greeting')          # its reference arrives before the farewell's cut
    engine.robot_stopped(2.0, 'farewell')
    assert engine.echo.far_end.playing(3.5, 3.6)        # the greeting still plays until 4.0
    assert not engine.echo.far_end.playing(4.05, 4.1)


def test_chunks_of_any_length_reach_the_canceller_whole(config, digits):
    # The microphone node may publish 10..1000 ms chunks; the canceller takes 20 ms frames: 50 ms chunks
    # are carried over, not dropped (they were: the robot was deaf).
    engine = AsrEngine(config, text_lid=script_lid)
    phrase = np.concatenate([np.zeros(8000, np.int16), digits[int(3.9 * 16000):int(5.6 * 16000)],
                             np.zeros(16000, np.int16)])
    events = []
    for i in range(0, phrase.size - 799, 800):   # 50 ms
        events += engine.run(engine.process(phrase[i:i + 800].tobytes(), i / 16000))
    heard = utterances(events + engine.run(engine.flush(phrase.size / 16000)))
    assert len(heard) == 1 and digit_groups(heard[0].text) and heard[0].language == 'en'
    assert engine.stats()['accepted'] == phrase.size // 800


def test_vosk_s_cache_is_not_measured_while_a_whisper_decode_is_out(config):
    # vosk_cache_mib compares the process's size with its size when the free recognizers were built: a Whisper
    # decode in flight (its working memory, ~100 MiB) must not count, so the check waits for the next visitor.
    engine = AsrEngine(replace(config, vosk_cache_mib=1), text_lid=script_lid)
    pcm = np.concatenate([np.zeros(8000, np.int16),
                          np.frombuffer(synthesize_speech('화장실은 어디에 있어요', 'ko', 140), dtype='<i2'),
                          np.zeros(16000, np.int16)])
    engine.new_visitor()
    handed = []
    for i in range(0, pcm.size - CHUNK + 1, CHUNK):
        handed += [e for e in engine.process(pcm[i:i + CHUNK].tobytes(), i / 16000) if isinstance(e, Decode)]
    assert handed and engine.recognizers['ko'].fed   # Vosk heard it free; Whisper's decodes not run yet
    engine.new_visitor()
    assert engine.counters['vosk_cache_checks_postponed'] == 1 and engine.counters['vosk_rebuilt_for_memory'] == 0
    for request in handed:
        engine.complete(request, engine.decode(request))
    engine.new_visitor()
    assert engine.counters['vosk_rebuilt_for_memory'] == 1 and not engine.recognizers['ko'].fed
