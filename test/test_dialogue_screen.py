"""Pacing, the screen's cards and touch barge-in (pure core, injected clock; real phrasebook and espeak-ng
durations where the seconds matter)."""
import pytest

from caexpo_robot.backend.client import fallback_reply
from caexpo_robot.backend.contract import spoken_form
from caexpo_robot.dialogue.assistant_turns import AssistantTurns
from caexpo_robot.dialogue.interaction import (
    Ask,
    Cancel,
    Emit,
    FaceObservation,
    InteractionConfig,
    InteractionManager,
    Say,
    Show,
)
from caexpo_robot.dialogue.outputs import OUTPUTS, as_message
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.messages import ScreenAction, ScreenCard, SpeechEvent, decode, encode


def phrase(key, language, **values):
    return f'<{key}:{language}>'


def make(hearable=('vi', 'en', 'zh', 'th'), phrases=phrase, **config):
    manager = InteractionManager(InteractionConfig(**{'opener_languages': ('vi', 'zh', 'en'), **config}), phrases)
    manager.set_hearable(hearable)
    manager.start(0.0)
    return manager


def said(actions):
    return [a for a in actions if isinstance(a, Say)]


def cards(actions):
    return [a for a in actions if isinstance(a, Show)]


def emitted(actions, kind):
    return [a for a in actions if isinstance(a, Emit) and a.type == kind]


def tell(manager, say, kind, now, duration_s=None):
    return manager.on_tts_event(SpeechEvent(t=now, type=kind, id=say.id, language=say.language, text=say.text,
                                            duration_s=duration_s), now)


@pytest.fixture(scope='module')
def espeak_seconds():
    """Seconds of speech of a phrase as the robot's espeak-ng voices say it (None: no voice, screen text)."""
    from caexpo_robot.sim.synthetic_audio import synthesize_speech
    from caexpo_robot.speaking.voices import VoiceTable
    voices = VoiceTable.load()

    def seconds(text, language):
        if voices.voice_kind(language) == 'screen_only':
            return None
        plan = voices.plan(text, language)
        return len(synthesize_speech(plan.spoken_text, plan.voice, plan.rate_wpm)) / 2 / 16000
    return seconds


def test_the_spoken_hello_is_at_most_about_three_seconds_in_every_language(espeak_seconds):
    book = Phrasebook.load()
    for language in LANGUAGES:
        for key in ('hello', 'group_hello'):
            seconds = espeak_seconds(book.say(key, language).text, language)
            assert seconds is None or seconds <= 3.0, (key, language, seconds)


def test_the_robot_listens_within_3_5_s_of_engaging_after_a_real_hello(espeak_seconds):
    """The whole greeting as tts reports it (espeak-ng's duration of the real phrase), on the sim clock."""
    book = Phrasebook.load()
    for openers in (('vi', 'zh', 'en'), ('th', 'en'), ('fil',), ('ko', 'en'), ('my',)):
        m = make(phrases=lambda key, language, **v: book.say(key, language, **v).text, opener_languages=openers)
        out = m.on_faces([FaceObservation('a', 1.4, True)], 10.0)
        engaged = emitted(out, 'visitor_engaged')[0].fields['t']
        [hello] = said(out)
        assert hello.language == openers[0]
        seconds = espeak_seconds(hello.text, hello.language)
        tell(m, hello, 'utterance_started', 10.1, duration_s=seconds)          # synthesis took 0.1 s
        out = tell(m, hello, 'utterance_finished', 10.1 + seconds)
        [listening] = emitted(out, 'listening_started')
        assert listening.fields['t'] - engaged <= 3.5, (openers, seconds)


def test_a_screen_card_for_each_stage_of_a_conversation():
    m = make(hearable=('en',))
    out = m.on_faces([FaceObservation('a', 1.2, True)], 1.0)
    assert cards(out) == [Show('greeting', 'a', None, languages=('vi', 'zh', 'en'))]
    out = tell(m, said(out)[0], 'utterance_finished', 2.0)
    assert cards(out) == [Show('listening', 'a', None, can_hear=None)]       # not known yet: picker
    out = m.on_heard('Where can I eat?', 'en', 0.9, 3.0)
    assert cards(out) == [Show('thinking', 'a', 'en')]
    shown = (ScreenAction(type='show_map', place='food_court'),)
    out = m.on_reply('a', 'The food court is in hall B. Halal meals too. Open until 18:00.', 'en', 'faq', shown,
                     False, 'backend', 3.5, spoken='The food court is in hall B.')
    assert cards(out) == [Show('answer', 'a', 'en', text='The food court is in hall B. Halal meals too. '
                               'Open until 18:00.', actions=shown)]
    out = tell(m, said(out)[0], 'utterance_finished', 5.0)
    assert cards(out) == [Show('listening', 'a', 'en', can_hear=True)]
    out = m.on_faces([], 6.0)                                                    # she walks off
    farewell = said(out)[0]
    assert cards(out) == [Show('farewell', 'a', 'en')]
    assert not cards(m.tick(6.5))                                                # while the goodbye plays
    tell(m, farewell, 'utterance_finished', 7.5)
    assert cards(m.tick(7.6)) == [Show('attract')]
    assert not cards(m.tick(8.0))                                                # latched: sent once
    # Each card is a valid ScreenCard message, and the node advertises that topic.
    message = as_message(Show('answer', 'a', 'en', text='x', actions=shown), 3.5)
    assert isinstance(message, ScreenCard) and ScreenCard in OUTPUTS
    assert decode(ScreenCard, encode(message)).actions[0].type == 'show_map'


def test_the_answer_is_said_in_its_spoken_form_and_shown_in_full():
    m = make()
    tell(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))[0], 'utterance_finished', 1.0)
    m.on_heard('What is on today?', 'en', 0.9, 2.0)
    full = 'Today: 09:00 opening ceremony; 10:30 durian forum; 14:00 AI summit; 16:00 trade dinner.'
    out = m.on_reply('a', full, 'en', 'events', [], False, 'backend', 2.5, spoken='Four events today; top three '
                     'on my screen.')
    [answer] = said(out)
    assert answer.text == 'Four events today; top three on my screen.' and cards(out)[0].text == full
    # Through AssistantTurns: the client's reply carries its spoken form (here the canned answer's).
    m = make()
    tell(m, said(m.on_faces([FaceObservation('b', 1.2, True)], 0.0))[0], 'utterance_finished', 1.0)
    canned = 'Sorry, I cannot reach the information service right now. A staff member can help you. ' \
        'I will call a staff member for you.'
    turns = AssistantTurns(m, None, lambda language: canned, 'en', lambda: 3.0)
    out = turns.route(m.on_heard('Where is the toilet?', 'en', 0.9, 2.0))
    [answer] = said(out)
    assert answer.text == fallback_reply(canned, 'en').spoken == spoken_form(canned, 'en')
    assert answer.text.endswith('can help you.') and cards(out)[-1].text == canned


def test_please_type_is_said_only_in_the_visitors_own_language_once_known_and_not_hearable():
    m = make(hearable=('ko',))
    out = m.on_faces([FaceObservation('a', 1.2, True)], 0.0)
    assert [s.text for s in said(out)] == ['<hello:vi>']
    tell(m, said(out)[0], 'utterance_finished', 1.0)
    out = m.on_language_chosen('th', None, 2.0)                  # tapped: Thai, which it cannot hear
    assert [s.text for s in said(out)] == ['<use_screen:th>']
    assert cards(out) == [Show('listening', 'a', 'th', can_hear=False)]
    out = m.on_language_chosen('ko', None, 3.0)                  # Korean it can hear: "please ask"
    assert [s.text for s in said(out)] == ['<listening_prompt:ko>']


def test_a_tapped_language_cancels_the_greeting_stops_the_speech_and_outranks_recognition():
    m = make()
    out = m.on_faces([FaceObservation('a', 1.2, True)], 0.0)
    [hello] = said(out)
    tell(m, hello, 'utterance_started', 0.1, duration_s=1.0)     # playing
    out = m.on_language_chosen('th', None, 0.4)
    assert Cancel(hello.id) in out                               # the playing hello too
    assert emitted(out, 'language_identified')[0].fields == {'t': 0.4, 'visitor': 'a', 'language': 'th',
                                                             'source': 'tap', 'confidence': 1.0}
    assert emitted(out, 'listening_started') and m.visitors['a'].stage.value == 'listening'
    [prompt] = said(out)
    assert (prompt.text, prompt.interrupt) == ('<listening_prompt:th>', True)
    tell(m, prompt, 'utterance_finished', 1.5)
    # One recognizer hears English once: the tapped Thai is kept; no question goes out in English.
    out = m.on_heard('where is the toilet', 'en', 0.8, 3.0, recognizers=1)
    assert not [a for a in out if isinstance(a, Ask)]
    assert [s.text for s in said(out)] == ['<not_understood:th>']
    out = m.on_heard('ห้องน้ำอยู่ที่ไหนครับ', 'th', 0.8, 4.0, recognizers=1)
    assert [a for a in out if isinstance(a, Ask)] == [Ask('a', 'ห้องน้ำอยู่ที่ไหนครับ', 'th')]


def test_a_language_tapped_before_engaging_is_the_next_visitors():
    m = make()
    assert m.on_language_chosen('ms', None, 1.0) == []
    out = m.on_faces([FaceObservation('a', 1.2, True)], 2.0)
    # Malay cannot be heard here: after the hello, and in Malay, the robot says to type.
    assert [(s.text, s.language) for s in said(out)] == [('<hello:ms>', 'ms'), ('<use_screen:ms>', 'ms')]
    assert cards(out) == [Show('greeting', 'a', 'ms', languages=('ms',))]


def test_a_typed_or_tapped_question_stops_the_playing_answer_before_it_is_answered():
    m = make()
    tell(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))[0], 'utterance_finished', 1.0)
    m.on_heard('Where is hall B?', 'en', 0.9, 2.0)
    [answer] = said(m.on_reply('a', 'Hall B is straight ahead.', 'en', 'directions', [], False, 'backend', 2.4))
    tell(m, answer, 'utterance_started', 2.5, duration_s=3.0)    # still playing ...
    out = m.on_typed('Where can I eat?', 'en', 3.0)               # ... when a quick question is tapped
    assert out.index(Cancel(answer.id)) < out.index(Ask('a', 'Where can I eat?', 'en'))
    assert emitted(out, 'answer_finished')[0].fields['detail'].startswith('stopped')
    # The cancelled answer's event later does not start listening again over the new question.
    out = tell(m, answer, 'utterance_cancelled', 3.05)
    assert not emitted(out, 'listening_started') and m.visitors['a'].stage.value == 'thinking'


def test_a_question_typed_during_the_hello_stops_it_at_once():
    m = make()
    [hello] = said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))
    tell(m, hello, 'utterance_started', 0.1, duration_s=1.0)
    out = m.on_typed('Tôi muốn tìm nhà xuất khẩu sầu riêng.', None, 0.5)
    assert Cancel(hello.id) in out and [a.language for a in out if isinstance(a, Ask)] == ['vi']
