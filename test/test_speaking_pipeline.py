"""The speaking pipeline without rclpy, on a clock the test moves: order, refusals, cancel in each of
the three stages, interrupts, screen-only languages, failures, `busy`, durations, WAVs.

Synthesis runs when the test calls `synthesize_next()` (no thread) with a synthesizer whose audio
lasts 0.1 s per word, except where a test says it uses the worker thread or real espeak-ng."""
import subprocess
import sys
import threading
import wave

import numpy as np
import pytest

from caexpo_robot.messages import CancelSpeech, ScreenText, SpeakRequest, SpeechEvent
from caexpo_robot.speaking.pipeline import PipelineConfig, Playback, SpeakingPipeline
from caexpo_robot.speaking.players import ClockPlayer, PlayerError
from caexpo_robot.speaking.synthesizer import Audio, EspeakCliSynthesizer, SynthesisError

RATE = 16_000


class WordSynth:
    """0.1 s of audio per word; remembers what it was asked; can fail or run a hook mid-synthesis."""
    name = 'words'

    def __init__(self, fail: tuple[str, ...] = ()) -> None:
        self.fail = fail
        self.spoken: list[tuple[str, str]] = []
        self.during = None       # called with the text while "synthesizing"

    def synthesize(self, text: str, voice: str, rate_wpm: int = 150) -> Audio:
        self.spoken.append((text, voice))
        if self.during is not None:
            self.during(text)
        if any(word in text for word in self.fail):
            raise SynthesisError(f'voice {voice!r} cannot say this')
        return Audio(np.full(1600 * len(text.split()), 1000, dtype=np.int16), RATE)

    def voices(self) -> frozenset[str]:
        return frozenset()


class RecordingPlayer(ClockPlayer):
    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.fail, self.stops = fail, 0

    def start(self, samples, sample_rate, now):
        if self.fail:
            raise PlayerError('no sound output device: unplugged')
        super().start(samples, sample_rate, now)

    def stop(self):
        self.stops += 1
        super().stop()


def pipeline(table, synth=None, player=None, **config) -> SpeakingPipeline:
    return SpeakingPipeline(table, synth or WordSynth(), player or RecordingPlayer(), PipelineConfig(**config),
                            synthesis_thread=False)


def request(utterance_id, text='Welcome to the expo', language='en', **fields) -> SpeakRequest:
    return SpeakRequest(text=text, language=language, id=utterance_id, **fields)


def events(outputs, kind=None) -> list[SpeechEvent]:
    return [m for m in outputs if isinstance(m, SpeechEvent) and kind in (None, m.type)]


def ids(outputs, kind) -> list[str]:
    return [e.id for e in events(outputs, kind)]


def synthesize_all(p) -> int:
    n = 0
    while p.synthesize_next():
        n += 1
    return n


def play_out(p, t=0.0, step=100.0) -> list:
    """Advance the clock in big steps until nothing is left: every utterance finishes."""
    out = []
    for _ in range(50):
        synthesize_all(p)
        out += p.advance(t)
        if not p.busy and not p.speaking:
            return out
        t += step
    raise AssertionError('the pipeline never settled')


def test_highest_priority_first_then_arrival_order(table):
    p = pipeline(table)
    for utterance_id, priority in [('a', 1), ('b', 1), ('c', 3), ('d', 0), ('e', 1)]:
        assert p.say(request(utterance_id, priority=priority), 0.0) == []
    out = play_out(p)
    assert ids(out, 'utterance_started') == ['c', 'a', 'b', 'e', 'd']
    assert ids(out, 'utterance_finished') == ['c', 'a', 'b', 'e', 'd']


def test_refusals_are_events_with_the_reason_and_the_tag(table):
    p = pipeline(table, max_chars=40, queue_capacity=2)
    tag = {'purpose': 'answer', 'visitor': 'v7'}
    assert ids(p.say(request('empty', '   '), 0.0), 'utterance_dropped') == ['empty']
    # Too long and for nobody in particular: refused (a visitor's is shortened: see below).
    [long] = p.say(request('long', 'word ' * 20, tag={'purpose': 'announcement'}), 0.0)
    assert long.type == 'utterance_dropped' and 'max_chars=40' in long.reason
    assert long.tag.purpose == 'announcement' and long.language == 'en'
    assert p.say(request('a'), 0.0) == [] and p.say(request('b'), 0.0) == []
    [full] = p.say(request('c', tag=tag), 0.0)
    assert (full.type, full.id, full.reason, full.tag.purpose) == ('utterance_dropped', 'c', 'queue full', 'answer')
    assert p.busy == 2
    assert ids(play_out(p), 'utterance_finished') == ['a', 'b']


def test_an_id_is_assigned_when_the_requester_gives_none(table):
    p = pipeline(table)
    p.say(SpeakRequest(text='Hello', language='en'), 0.0)
    p.say(SpeakRequest(text='Hello again', language='en'), 0.0)
    assert ids(play_out(p), 'utterance_finished') == ['u1', 'u2']


CANCELS = {'by id': CancelSpeech(id='x'), 'all': CancelSpeech(all=True),
           'below priority': CancelSpeech(below_priority=2)}


@pytest.mark.parametrize('cancel', CANCELS.values(), ids=CANCELS.keys())
def test_cancel_while_queued(table, cancel):
    synth = WordSynth()
    p = pipeline(table, synth)
    p.say(request('x', 'never said', priority=1), 0.0)
    assert p.busy == 1
    out = p.cancel(cancel, 0.5)
    assert [(e.type, e.id, e.t) for e in events(out)] == [('utterance_cancelled', 'x', 0.5)]
    assert p.busy == 0 and not synthesize_all(p) and synth.spoken == []


@pytest.mark.parametrize('cancel', CANCELS.values(), ids=CANCELS.keys())
def test_cancel_while_in_synthesis_is_reported_when_synthesis_ends(table, cancel):
    synth = WordSynth()
    p = pipeline(table, synth)
    p.say(request('x', 'never said', priority=1), 0.0)
    during = []
    synth.during = lambda text: during.append(p.cancel(cancel, 0.0))
    assert p.synthesize_next()
    assert during == [[]]               # not reported yet: the worker still holds it
    assert p.busy == 1                  # its report is pending: the simulator must wait
    out = p.advance(0.0)
    assert [(e.type, e.id) for e in events(out)] == [('utterance_cancelled', 'x')]
    assert p.busy == 0 and not p.speaking
    assert play_out(p) == []


@pytest.mark.parametrize('cancel', CANCELS.values(), ids=CANCELS.keys())
def test_cancel_while_synthesized_and_waiting(table, cancel):
    p = pipeline(table)
    p.say(request('playing', priority=3), 0.0)
    p.say(request('x', 'never said', priority=1), 0.0)
    synthesize_all(p)
    assert ids(p.advance(0.0), 'utterance_started') == ['playing']
    assert p.busy == 0                   # x waits for its turn: nothing to settle until the clock moves
    out = p.cancel(cancel, 0.1)
    assert 'x' in ids(out, 'utterance_cancelled')
    assert 'x' not in ids(play_out(p, 0.2), 'utterance_started')


@pytest.mark.parametrize('cancel', CANCELS.values(), ids=CANCELS.keys())
def test_cancel_while_playing_stops_it_and_starts_the_next(table, cancel):
    player = RecordingPlayer()
    p = pipeline(table, player=player)
    p.say(request('x', priority=1), 0.0)
    synthesize_all(p)
    assert ids(p.advance(0.0), 'utterance_started') == ['x']
    p.say(request('next', priority=3), 0.0)
    synthesize_all(p)                    # 'next' is ready but does not interrupt
    assert p.advance(0.1) == []
    out = p.cancel(cancel, 0.2)
    assert player.stops == 1
    [cancelled] = [e for e in events(out, 'utterance_cancelled') if e.id == 'x']
    assert cancelled.t == 0.2
    if cancel.all:
        assert ids(out, 'utterance_cancelled') == ['next', 'x'] and not p.speaking
    else:
        assert ids(out, 'utterance_started') == ['next'] and p.speaking


def test_interrupt_stops_a_lower_or_equal_priority_utterance(table):
    p = pipeline(table)
    p.say(request('talk', 'a long talk about the opening ceremony', priority=1, tag={'purpose': 'answer'}), 0.0)
    synthesize_all(p)
    p.advance(0.0)
    p.say(request('polite', 'excuse me', priority=2), 0.1)          # higher, but does not interrupt
    p.say(request('meek', 'sorry', priority=0, interrupt=True), 0.1)  # interrupts, but lower
    synthesize_all(p)
    assert p.advance(0.2) == []
    p.say(request('urgent', 'stop please', priority=3, interrupt=True), 0.3)
    synthesize_all(p)
    out = p.advance(0.4)
    interrupted = events(out, 'utterance_cancelled')
    assert [(e.id, e.reason, e.tag.purpose) for e in interrupted] == [('talk', 'interrupted', 'answer')]
    assert interrupted[0].duration_s == pytest.approx(0.7)   # seven words
    assert ids(out, 'utterance_started') == ['urgent']
    p.say(request('same', 'me too', priority=3, interrupt=True), 0.5)   # equal priority interrupts too
    synthesize_all(p)
    out = p.advance(0.6)
    assert [(e.type, e.id) for e in events(out)] == [('utterance_cancelled', 'urgent'), ('utterance_started', 'same')]
    assert ids(play_out(p, 0.7), 'utterance_started') == ['polite', 'meek']


@pytest.mark.parametrize('language, read_by', [('km', ('en', 'en-us')), ('lo', ('th', 'th'))])
def test_languages_without_a_voice_go_to_the_screen(table, pb, language, read_by):
    synth = WordSynth()
    p = pipeline(table, synth)
    text = {'km': 'សូមស្វាគមន៍មកកាន់ពិព័រណ៍', 'lo': 'ຍິນດີຕ້ອນຮັບ'}[language]
    p.say(request('s', text, language), 0.0)
    synthesize_all(p)
    out = p.advance(0.0)
    screens = [m for m in out if isinstance(m, ScreenText)]
    assert [(s.text, s.language, s.id) for s in screens] == [(text, language, 's')]
    assert [(e.text, e.language) for e in events(out, 'screen_text')] == [(text, language)]
    [started] = events(out, 'utterance_started')
    assert (started.fallback, started.spoken_language, started.voice) == ('screen_only', *read_by)
    assert started.text == text and started.language == language
    assert synth.spoken == [(pb.say('read_screen', read_by[0]).text, read_by[1])]   # never the script itself


def test_a_failed_synthesis_is_reported_and_the_next_one_is_said(table):
    p = pipeline(table, WordSynth(fail=('unpronounceable',)))
    p.say(request('bad', 'an unpronounceable word', tag={'visitor': 'v1'}), 0.0)
    p.say(request('good'), 0.0)
    out = play_out(p)
    [failed] = events(out, 'utterance_failed')
    assert failed.id == 'bad' and 'SynthesisError' in failed.reason and failed.tag.visitor == 'v1'
    assert ids(out, 'utterance_started') == ['good'] and ids(out, 'utterance_finished') == ['good']


def test_a_player_that_cannot_play_fails_each_utterance_and_says_why(table):
    p = pipeline(table, player=RecordingPlayer(fail=True))
    p.say(request('a'), 0.0)
    out = play_out(p)
    assert ids(out, 'utterance_failed') == ['a'] and 'unplugged' in events(out)[0].reason
    assert 'unplugged' in p.player_problem and not p.speaking


def test_busy_counts_unsettled_work_and_returns_to_zero(table):
    p = pipeline(table)
    assert p.busy == 0
    p.say(request('a'), 0.0)
    p.say(request('b'), 0.0)
    assert p.busy == 2                  # both queued
    p.synthesize_next()
    assert p.busy == 2                  # one queued, one ready while nothing plays
    p.advance(0.0)
    assert p.busy == 1 and p.speaking   # a plays; b still to synthesize
    p.synthesize_next()
    assert p.busy == 0 and p.queued == 1   # b waits for a to end: only the clock can change that
    p.advance(100.0)
    p.advance(200.0)
    assert p.busy == 0 and p.queued == 0 and not p.speaking


def test_durations_follow_the_clock(table):
    p = pipeline(table)
    p.say(request('a', 'one two three four five', tag={'purpose': 'greeting', 'visitor': 'v2'}), 10.0)
    synthesize_all(p)
    [started] = events(p.advance(10.0))
    assert (started.type, started.t, started.duration_s) == ('utterance_started', 10.0, 0.5)
    assert (started.voice, started.spoken_language, started.priority) == ('en-us', 'en', 1)
    assert p.advance(10.49) == [] and p.speaking
    [finished] = events(p.advance(10.5))
    assert (finished.type, finished.t, finished.duration_s) == ('utterance_finished', 10.5, 0.5)
    assert finished.tag.visitor == 'v2' and finished.text == 'one two three four five'
    assert not p.speaking


def test_wav_only_for_what_is_really_said(table, tmp_path):
    synth = WordSynth()
    p = pipeline(table, synth, wav_dir=str(tmp_path))
    p.say(request('said', 'hello there', tag={'purpose': 'greeting', 'visitor': 'v/1'}), 0.0)
    p.say(request('cut', 'waiting in line'), 0.0)
    p.say(request('late', 'cancelled in synthesis'), 0.0)
    synth.during = lambda text: p.cancel(CancelSpeech(id='late'), 0.0) if 'synthesis' in text else None
    p.synthesize_next()
    started = events(p.advance(0.0), 'utterance_started')
    synthesize_all(p)
    out = p.cancel(CancelSpeech(id='cut'), 0.1) + play_out(p, 0.2)
    assert ids(out, 'utterance_cancelled') == ['cut', 'late']
    finished = events(out, 'utterance_finished')
    assert started[0].wav == finished[0].wav
    assert [f.name for f in tmp_path.iterdir()] == ['0001_greeting_v_1_en.wav']
    with wave.open(finished[0].wav) as wav:
        assert wav.getnframes() / wav.getframerate() == finished[0].duration_s == 0.2


def test_the_worker_thread_with_real_espeak_ng_and_a_cancel_during_synthesis(table, tmp_path):
    """The node's arrangement: a synthesis thread, real espeak-ng, a wake-up when audio is ready."""
    espeak = EspeakCliSynthesizer()
    entered, release = threading.Event(), threading.Event()

    class Gated:
        name = 'gated espeak-ng'

        def synthesize(self, text, voice, rate_wpm=150):
            if 'held' in text:
                entered.set()
                assert release.wait(30)
            return espeak.synthesize(text, voice, rate_wpm)

        def voices(self):
            return espeak.voices()

    synthesized = threading.Semaphore(0)
    p = SpeakingPipeline(table, Gated(), ClockPlayer(), PipelineConfig(wav_dir=str(tmp_path)),
                         on_synthesized=synthesized.release)
    try:
        p.say(request('held', 'this one is held in synthesis'), 0.0)
        p.say(request('spoken', 'Welcome to the China ASEAN Expo.'), 0.0)
        assert entered.wait(30)
        assert p.cancel(CancelSpeech(id='held'), 0.0) == []    # in synthesis: reported when it ends
        release.set()
        assert synthesized.acquire(timeout=30) and synthesized.acquire(timeout=30)
        out = p.advance(1.0)
        assert ids(out, 'utterance_cancelled') == ['held']
        [started] = events(out, 'utterance_started')
        assert started.id == 'spoken' and started.duration_s > 1.0 and p.busy == 0
        out = p.advance(1.0 + started.duration_s + 0.001)
        assert ids(out, 'utterance_finished') == ['spoken']
        with wave.open(started.wav) as wav:
            assert abs(wav.getnframes() / wav.getframerate() - started.duration_s) < 0.001
        assert len(list(tmp_path.iterdir())) == 1
    finally:
        release.set()
        p.close()
    assert not p._worker.is_alive()


def test_the_pipeline_does_not_need_rclpy():
    code = 'import sys, caexpo_robot.speaking.pipeline; print("rclpy" in sys.modules)'
    assert subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                          check=True).stdout.strip() == 'False'


def test_a_visitors_long_answer_is_shortened_at_a_sentence_and_shown_in_full(table):
    """Before: refused (utterance_dropped, max_chars), and the visitor heard nothing."""
    p = pipeline(table, max_chars=60)
    text = 'The forum starts at ten. It is in hall five. Lunch is served at noon in the east wing restaurant.'
    tag = {'purpose': 'answer', 'visitor': 'v7'}
    assert p.say(request('long', text, tag=tag), 0.0) == []
    synthesize_all(p)
    out = p.advance(0.0)
    [started] = events(out, 'utterance_started')
    assert started.text == 'The forum starts at ten. It is in hall five.'
    assert started.detail.startswith('shortened') and started.tag.visitor == 'v7'
    assert [m.text for m in out if isinstance(m, ScreenText)] == [text]
    assert ids(play_out(p), 'utterance_finished') == ['long']


def test_full_queues_hold_queue_capacity_in_all_and_a_higher_priority_displaces_the_last(table):
    """Before: the ready queue had no bound (1,265 synthesized utterances held against a capacity of 32)."""
    p = pipeline(table, queue_capacity=3)
    for name in 'abc':
        assert p.say(request(name), 0.0) == []
    synthesize_all(p)                       # all three ready, none started
    [refused] = p.say(request('d'), 0.0)
    assert (refused.id, refused.reason) == ('d', 'queue full')
    assert p.queued == 3
    out = p.say(request('urgent', priority=3), 0.0)
    assert [(e.id, e.type) for e in out] == [('c', 'utterance_dropped')] and 'displaced' in out[0].reason
    assert p.queued == 3
    synthesize_all(p)
    assert ids(play_out(p), 'utterance_finished') == ['urgent', 'a', 'b']


class ToneSynth(WordSynth):
    """0.1 s of a 440 Hz tone per word at espeak-ng's 22,050 Hz."""

    def synthesize(self, text, voice, rate_wpm=150):
        super().synthesize(text, voice, rate_wpm)
        t = np.arange(2205 * len(text.split())) / 22050
        return Audio(np.round(8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16), 22050)


def playbacks(outputs) -> list[Playback]:
    return [m for m in outputs if isinstance(m, Playback)]


def test_each_utterance_started_is_preceded_by_its_playback_at_16_khz(table):
    """The echo canceller's reference: what the speaker plays from t, resampled to the robot's 16 kHz."""
    p = pipeline(table, ToneSynth())
    p.say(request('a', 'one two three four five'), 2.0)
    p.say(request('b', 'six seven'), 2.0)
    synthesize_all(p)
    out = p.advance(2.5)
    assert [type(m).__name__ for m in out] == ['Playback', 'SpeechEvent']
    [playback] = playbacks(out)
    assert (playback.id, playback.t, playback.samples_16k.dtype) == ('a', 2.5, np.int16)
    assert playback.samples_16k.size == 8000      # 0.5 s at 16 kHz (11,025 samples at 22,050 Hz)
    spectrum = np.abs(np.fft.rfft(playback.samples_16k[1000:7000].astype(float)))
    assert np.argmax(spectrum) * 16000 / 6000 == pytest.approx(440, abs=3)   # same pitch, not sped up
    middle = playback.samples_16k[1000:7000]
    assert np.abs(middle).max() == pytest.approx(8000, rel=0.01)   # same level
    out = play_out(p, 3.0, step=0.25)
    assert [(m.id, m.t, m.samples_16k.size) for m in playbacks(out)] == [('b', 3.0, 3200)]


def test_a_16_khz_voice_is_its_own_reference(table):
    synth = WordSynth()
    p = pipeline(table, synth)
    p.say(request('a', 'hello there'), 0.0)
    synthesize_all(p)
    [playback] = playbacks(p.advance(0.0))
    assert np.array_equal(playback.samples_16k, np.full(3200, 1000, dtype=np.int16))


def test_no_playback_for_what_does_not_play(table):
    """Failed synthesis, a player that cannot play, an utterance cancelled before it started: no reference."""
    p = pipeline(table, WordSynth(fail=('unpronounceable',)))
    p.say(request('bad', 'an unpronounceable word'), 0.0)
    p.say(request('good', 'hello'), 0.0)
    p.say(request('cut', 'never said'), 0.0)
    synthesize_all(p)
    out = p.advance(0.0) + p.cancel(CancelSpeech(id='cut'), 0.05) + play_out(p, 0.1)
    assert ids(out, 'utterance_failed') == ['bad'] and ids(out, 'utterance_cancelled') == ['cut']
    assert [m.id for m in playbacks(out)] == ['good']
    unplugged = pipeline(table, player=RecordingPlayer(fail=True))
    unplugged.say(request('a'), 0.0)
    out = play_out(unplugged)
    assert ids(out, 'utterance_failed') == ['a'] and playbacks(out) == []
