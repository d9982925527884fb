"""The greeter's behaviour (pure state machine): greetings, groups, waiting, conversation, farewells."""
import pytest

from caexpo_robot.dialogue.interaction import (
    Ask,
    Cancel,
    Emit,
    EndVisit,
    FaceObservation,
    InteractionConfig,
    InteractionManager,
    Say,
    Show,
    StartConversation,
)
from caexpo_robot.dialogue.outputs import as_message
from caexpo_robot.messages import ConversationStarted, HeardSpeech, ScreenAction, SpeechEvent


def phrase(key, language, **values):
    return f'<{key}:{language}>'


def make(hearable=('vi', 'en', 'zh', 'th'), **config):
    manager = InteractionManager(InteractionConfig(**{'opener_languages': ('vi', 'en'), **config}), phrase)
    manager.set_hearable(hearable)
    assert manager.start(0.0) == [Show('attract')]     # as the node does: the screen shows the attract card
    return manager


def event(fields):
    """A speech event as the tts node publishes it."""
    return SpeechEvent(t=0.0, **fields)


def emitted(actions, kind=None):
    return [a for a in actions if isinstance(a, Emit) and (kind is None or a.type == kind)]


def said(actions):
    return [a for a in actions if isinstance(a, Say)]


def finish_all(manager, says, now):
    """Play each Say through: started then finished, as the tts node reports."""
    out = []
    for say in says:
        out += manager.on_tts_event(event({'type': 'utterance_started', 'id': say.id, 'language': say.language,
                                     'text': say.text}), now)
        out += manager.on_tts_event(event({'type': 'utterance_finished', 'id': say.id}), now)
    return out


def test_single_visitor_is_greeted_once_with_a_short_hello_and_the_welcome_on_the_screen():
    m = make()
    out = m.on_faces([FaceObservation('f1', 3.0, False)], 0.0)
    assert [e.type for e in emitted(out)] == ['visitor_detected']
    out = m.on_faces([FaceObservation('f1', 1.5, True)], 1.0)
    assert [e.type for e in emitted(out)] == ['visitor_engaged']
    says = said(out)              # at once: no waiting to see who else comes
    # Spoken: a hello in the first opener language; the multilingual welcome and the menu are on the screen.
    assert [(s.text, s.language) for s in says] == [('<hello:vi>', 'vi')]
    assert [a for a in out if isinstance(a, Show)] == [Show('greeting', 'f1', None, languages=('vi', 'en'))]
    out = finish_all(m, says, 1.7)
    assert [e.type for e in emitted(out)] == ['greeting_started', 'greeting_finished', 'listening_started']
    # Staying engaged for a long time never greets again.
    for k in range(50):
        assert not said(m.on_faces([FaceObservation('f1', 1.5, True)], 2.0 + k * 0.1))


def test_two_visitors_arriving_together_get_one_group_greeting():
    m = make()
    m.on_faces([FaceObservation('a', 2.8, False), FaceObservation('b', 2.9, False)], 0.0)
    out = m.on_faces([FaceObservation('a', 1.8, True), FaceObservation('b', 1.4, False)], 0.6)
    says = said(out)
    assert [s.text for s in says] == ['<group_hello:vi>']
    assert says[0].tag['visitor'] == 'b'             # the closest one is addressed
    started = emitted(finish_all(m, says, 0.7), 'greeting_started')
    assert len(started) == 1 and set(started[0].fields['group']) == {'a', 'b'}
    # A third face engaging within the cooldown joins the group: no new greeting.
    out = m.on_faces([FaceObservation('a', 1.8, True), FaceObservation('b', 1.4, True),
                      FaceObservation('c', 1.9, True)], 2.0)
    assert not said(out)


def test_a_visitor_arriving_during_a_conversation_is_greeted_briefly_and_asked_to_wait():
    m = make(greeting_cooldown_s=1.0)
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    assert m.addressed == 'a'
    out = m.on_faces([FaceObservation('a', 1.2, True), FaceObservation('b', 1.8, True)], 5.0)
    assert [s.text for s in said(out)][-1] == '<please_wait:vi>'
    assert emitted(out, 'asked_to_wait')
    finish_all(m, said(out), 5.7)
    assert m.addressed == 'a'
    # a leaves: farewell to a, then b is addressed without a second greeting.
    out = m.on_faces([FaceObservation('b', 1.8, True)], 9.0)
    texts = [s.text for s in said(out)]
    assert '<farewell:en>' in texts and '<listening_prompt:vi>' in texts and '<hello:vi>' not in texts
    assert m.addressed == 'b'
    assert any(isinstance(a, EndVisit) and a.visitor == 'a' for a in out)


def test_conversation_switches_to_the_visitors_language_and_ends_with_farewell_in_it():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    out = m.on_heard('Tôi muốn tìm sầu riêng', 'vi', 0.9, 2.0)
    assert [e.type for e in emitted(out)] == ['language_identified', 'utterance_heard', 'question_sent']
    asks = [a for a in out if isinstance(a, Ask)]
    assert asks == [Ask('a', 'Tôi muốn tìm sầu riêng', 'vi')]
    out = m.on_filler('a', 'Xin vui lòng chờ', 'vi', 3.2)
    assert said(out)[0].tag['purpose'] == 'filler'
    out = m.on_reply('a', 'Gian hàng B12', 'vi', 'exhibitor_search', [], False, 'backend', 3.5)
    answer = said(out)[0]
    assert (answer.language, answer.tag['purpose']) == ('vi', 'answer')
    out = finish_all(m, [answer], 4.0)
    assert [e.type for e in emitted(out)] == ['answer_started', 'answer_finished', 'listening_started']
    # Leaving: the farewell is in Vietnamese now.
    out = m.on_faces([], 10.0)
    assert [s.text for s in said(out)] == ['<farewell:vi>']


def test_low_confidence_gets_not_understood_and_no_question():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    out = m.on_heard('mumble', 'en', 0.2, 2.0)
    assert [s.text for s in said(out)] == ['<not_understood:en>']
    assert not [a for a in out if isinstance(a, Ask)]


def test_quiet_visitor_is_prompted_then_bid_farewell():
    m = make(listen_timeout_s=5.0)
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    prompt = said(m.tick(5.8))
    assert [s.text for s in prompt] == ['<listening_prompt:vi>']      # language unknown: the hello's
    finish_all(m, prompt, 6.0)
    assert not said(m.tick(10.0))
    assert [s.text for s in said(m.tick(11.1))] == ['<farewell:en>']


def test_brief_detection_flicker_and_unconfirmed_faces_are_ignored():
    m = make()
    out = m.on_faces([FaceObservation('x', 1.0, True, confirmed=False)], 0.0)
    assert out == []


def test_departed_visitors_are_forgotten_so_memory_stays_flat():
    m = make(forget_after_s=10.0)
    for k in range(200):
        t = k * 3.0
        m.on_faces([FaceObservation(f'v{k}', 1.5, True)], t)
        m.on_faces([], t + 1.0)
    assert len(m.visitors) <= 5 and len(m.groups) <= 5


def test_knowing_the_language_cancels_the_rest_of_the_opener_and_leaving_cancels_the_answer():
    m = make(opener_languages=('vi', 'zh', 'en'))
    says = said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))
    m.on_tts_event(event({'type': 'utterance_started', 'id': says[0].id, 'language': 'vi', 'text': says[0].text}), 0.1)
    out = m.on_heard('Xin chào', 'vi', 0.9, 1.0)
    cancelled = {a.id for a in out if isinstance(a, Cancel)}
    assert cancelled == {s.id for s in says[1:]}            # not the one playing
    finish_all(m, [says[0]], 1.5)
    for s in says[1:]:
        m.on_tts_event(event({'type': 'utterance_cancelled', 'id': s.id}), 1.6)
    out = m.on_reply('a', 'Câu trả lời dài', 'vi', 'faq', [], False, 'backend', 2.0)
    answer = said(out)[0]
    m.on_tts_event(event({'type': 'utterance_started', 'id': answer.id, 'language': 'vi', 'text': answer.text}), 2.1)
    out = m.on_faces([], 3.0)                               # the visitor walked off mid-answer
    assert Cancel(answer.id) in out
    assert [s.text for s in said(out)] == ['<farewell:vi>']


def test_group_farewell_uses_the_language_a_member_spoke():
    m = make()
    says = said(m.on_faces([FaceObservation('a', 1.2, True), FaceObservation('b', 1.5, True)], 0.0))
    finish_all(m, says, 0.5)
    m.on_heard('สวัสดีครับ', 'th', 0.9, 1.0)
    addressed = m.addressed
    other = 'b' if addressed == 'a' else 'a'
    remaining = [FaceObservation(other, 1.5, True)]
    assert not [s for s in said(m.on_faces(remaining, 2.0)) if s.tag['purpose'] == 'farewell']
    out = m.on_faces([], 3.0)
    assert [s.text for s in said(out) if s.tag['purpose'] == 'farewell'] == ['<farewell:th>']


def test_languages_the_robot_cannot_hear_get_the_use_the_screen_offer():
    """Only in the visitor's own language, and only once it is known and cannot be heard."""
    m = make(hearable=('ko',), listen_timeout_s=5.0)
    says = said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))
    assert [s.text for s in says] == ['<hello:vi>']                     # language unknown: no "type"
    finish_all(m, says, 0.5)
    m.on_typed('Nhà vệ sinh ở đâu vậy?', None, 2.0)                     # now it is known: Vietnamese
    finish_all(m, said(m.on_reply('a', 'Ở sảnh A', 'vi', 'faq', [], False, 'backend', 2.5)), 3.0)
    assert [s.text for s in said(m.tick(8.1))] == ['<use_screen:vi>']
    # Unknown yet, and not hearable either: "please ask" in the hello's language, never "please type".
    m2 = make(hearable=('en',), listen_timeout_s=5.0)
    finish_all(m2, said(m2.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.5)
    assert [s.text for s in said(m2.tick(6.0))] == ['<listening_prompt:vi>']


def test_a_new_arrival_interrupts_a_farewell_to_someone_walking_away():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.5)
    farewell = said(m.on_faces([], 5.0))[0]
    m.on_tts_event(event({'type': 'utterance_started', 'id': farewell.id, 'language': 'en', 'text': ''}), 5.0)
    m.on_faces([FaceObservation('b', 2.5, False)], 12.0)
    greeting = said(m.on_faces([FaceObservation('b', 1.5, True)], 12.1))
    assert greeting[0].interrupt and greeting[0].priority >= farewell.priority


def test_a_visitor_who_steps_back_and_returns_is_served_again_without_a_second_greeting():
    m = make(leave_after_s=1.0)
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.5)
    m.on_faces([FaceObservation('a', 2.8, False)], 2.0)
    out = m.on_faces([FaceObservation('a', 2.8, False)], 3.5)          # still tracked, but gone away
    assert [e.type for e in emitted(out, 'visitor_left')] == ['visitor_left']
    assert [s.text for s in said(out)] == ['<farewell:en>']
    out = m.on_faces([FaceObservation('a', 1.3, True)], 6.0)            # back again
    texts = [s.text for s in said(out)]
    assert texts == ['<listening_prompt:vi>'] and m.addressed == 'a'
    assert not emitted(out, 'greeting_started')
    out = m.on_faces([], 9.0)                                            # and a goodbye when leaving again
    assert [s.text for s in said(out)] == ['<farewell:en>']


def test_a_new_conversation_is_announced_once_per_visitor_before_listening_starts():
    m = make(greeting_cooldown_s=1.0)
    out = finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    starts = [a for a in out if isinstance(a, StartConversation)]
    assert starts == [StartConversation('a', None, ('vi', 'en'))]   # the opener languages: priors for asr
    assert out.index(starts[0]) < out.index(emitted(out, 'listening_started')[0])
    # The answer ends and the robot listens to the same visitor again: no new conversation.
    m.on_heard('Where is the toilet?', 'en', 0.9, 2.0)
    answer = said(m.on_reply('a', 'Hall 2', 'en', 'directions', [], False, 'backend', 2.5))
    out = finish_all(m, answer, 3.0)
    assert emitted(out, 'listening_started') and not [a for a in out if isinstance(a, StartConversation)]
    # b waits, a leaves: listening to b is a new conversation.
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True), FaceObservation('b', 1.8, True)], 5.0)), 5.5)
    out = m.on_faces([FaceObservation('b', 1.8, True)], 9.0)
    assert [a for a in out if isinstance(a, StartConversation)] == [StartConversation('b', None, ('vi', 'en'))]


def test_typed_text_in_an_unnamed_language_is_identified_and_a_staff_call_is_reported():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    out = m.on_typed('Nhà vệ sinh ở đâu vậy?', None, 2.0)
    assert [a for a in out if isinstance(a, Ask)] == [Ask('a', 'Nhà vệ sinh ở đâu vậy?', 'vi')]
    assert emitted(out, 'utterance_heard')[0].fields['source'] == 'kiosk'
    out = m.on_reply('a', 'Staff are coming', 'vi', 'call_staff', [ScreenAction(type='call_staff')], False,
                     'backend', 2.5)
    assert [e.fields['source'] for e in emitted(out, 'staff_called')] == ['backend']
    finish_all(m, said(out), 3.0)
    out = m.on_typed('Xin chào', 'th', 9.0)                  # the language chosen on the screen wins
    assert emitted(out, 'language_identified')[0].fields['language'] == 'th'


def test_unknown_language_codes_in_the_configuration_are_refused():
    with pytest.raises(ValueError, match="unknown language code.*'xx'"):
        InteractionConfig(opener_languages=('xx', 'en'))


def play(manager, say, now):
    """tts starts saying `say` (it is playing now)."""
    return manager.on_tts_event(event({'type': 'utterance_started', 'id': say.id, 'language': say.language,
                                       'text': say.text, 'duration_s': 2.0}), now)


def test_the_conversation_tells_asr_the_opener_languages_as_priors():
    m = make(opener_languages=('th', 'zh', 'en'))
    out = finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    [start] = [a for a in out if isinstance(a, StartConversation)]
    assert start.expected == ('th', 'zh', 'en')
    assert as_message(start, 0.7) == ConversationStarted(t=0.7, visitor='a', expected=['th', 'zh', 'en'])


def test_a_visitor_who_speaks_during_the_greeting_stops_it_and_is_answered():
    m = make()
    [hello] = said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0))
    play(m, hello, 0.2)
    out = m.on_barge_in(0.5, 0.62)
    assert out[0] == Cancel(hello.id)                           # the playing hello stops first
    [note] = emitted(out, 'barge_in')
    assert note.fields['visitor'] == 'a' and note.fields['utterance'] == hello.id
    assert note.fields['detail'].startswith('stopped greeting (playing); 0.120 s')
    assert [e.type for e in emitted(out)] == ['barge_in', 'greeting_finished', 'listening_started']
    assert not said(out) and m.visitors['a'].stage.value == 'listening'
    # tts reports the cut: nothing more happens (the greeting is over once).
    out = m.on_tts_event(event({'type': 'utterance_cancelled', 'id': hello.id}), 0.65)
    assert not emitted(out) and not said(out)
    # Their words follow and are answered.
    out = m.on_heard_speech(HeardSpeech(text='Where is the toilet?', language='en', final=True, confidence=0.9), 1.8)
    assert [a for a in out if isinstance(a, Ask)] == [Ask('a', 'Where is the toilet?', 'en')]


def test_a_barge_in_during_a_queued_greeting_stops_the_group_greeting_for_everyone():
    m = make(hearable=('vi',))
    m.on_language_chosen('km', None, 0.0)                      # tapped before engaging: hello + use_screen
    says = said(m.on_faces([FaceObservation('a', 1.2, True), FaceObservation('b', 1.6, True)], 1.0))
    assert len(says) == 2 and all(s.tag['purpose'] == 'greeting' for s in says)
    play(m, says[0], 1.1)
    out = m.on_barge_in(1.3, 1.4)
    assert {a.id for a in out if isinstance(a, Cancel)} == {s.id for s in says}      # playing and queued
    assert 'greeting (playing)' in emitted(out, 'barge_in')[0].fields['detail']
    assert {m.visitors['a'].stage.value, m.visitors['b'].stage.value} == {'listening', 'waiting'}


def test_a_visitor_who_speaks_during_the_answer_stops_it_and_is_heard():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    m.on_heard('Where is the toilet?', 'en', 0.9, 2.0)
    [answer] = said(m.on_reply('a', 'Hall 2, on the left', 'en', 'directions', [], False, 'backend', 2.5))
    assert answer.tag['purpose'] == 'answer'
    play(m, answer, 2.6)
    out = m.on_barge_in(3.0, 3.2)
    assert out[0] == Cancel(answer.id)
    assert emitted(out, 'barge_in')[0].fields['detail'].startswith('stopped answer (playing)')
    assert [e.fields.get('detail') for e in emitted(out, 'answer_finished')] == ['stopped: the visitor spoke']
    assert emitted(out, 'listening_started')
    out = m.on_heard('And the restaurant?', 'en', 0.9, 4.5)
    assert [a for a in out if isinstance(a, Ask)] == [Ask('a', 'And the restaurant?', 'en')]


def test_a_barge_in_with_nothing_to_stop_does_nothing():
    m = make()
    assert m.on_barge_in(0.0, 0.1) == []                        # nobody here
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    assert m.on_barge_in(1.0, 1.1) == []                        # listening: the robot says nothing to them
    # A farewell (the visitor is leaving) is not stopped: nobody is addressed any more.
    m.on_heard('Where is the toilet?', 'en', 0.9, 2.0)
    out = m.on_reply('a', 'Goodbye!', 'en', 'goodbye', [], True, 'backend', 2.5)
    farewell = [s for s in said(out) if s.tag['purpose'] == 'farewell']
    finish_all(m, [s for s in said(out) if s.tag['purpose'] == 'answer'], 3.0)
    play(m, farewell[0], 3.5)
    assert m.addressed is None and m.on_barge_in(3.6, 3.7) == []


def test_a_filler_is_stopped_by_a_barge_in_but_the_answer_still_comes():
    m = make()
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    m.on_heard('Where is the toilet?', 'en', 0.9, 2.0)
    [filler] = said(m.on_filler('a', 'One moment', 'en', 3.2))
    play(m, filler, 3.2)
    out = m.on_barge_in(3.4, 3.5)
    assert out[0] == Cancel(filler.id) and emitted(out, 'barge_in')
    assert said(m.on_reply('a', 'Hall 2', 'en', 'directions', [], False, 'backend', 3.8))


def test_untrusted_speech_is_not_asked_and_the_screen_is_offered_in_its_language():
    m = make(listen_timeout_s=5.0)                         # asr: my is detected, not hearable
    finish_all(m, said(m.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    [prompt] = said(m.tick(6.0))                             # "please ask", queued
    heard = HeardSpeech(text='မင်္ဂလာပါ', language='my', final=True, confidence=0.3, language_probability=0.8,
                        trusted=False)
    out = m.on_heard_speech(heard, 6.1)
    assert not [a for a in out if isinstance(a, Ask)]
    [identified] = emitted(out, 'language_identified')
    assert (identified.fields['language'], identified.fields['source']) == ('my', 'speech')
    assert emitted(out, 'utterance_heard')[0].fields['detail'] == 'not trusted: the screen is offered'
    assert [a for a in out if isinstance(a, Cancel)] == [Cancel(prompt.id)]    # the queued prompt in vi
    assert [(s.text, s.language, s.tag['purpose']) for s in said(out)] == [('<use_screen:my>', 'my', 'prompt')]
    assert [a for a in out if isinstance(a, Show)] == [Show('listening', 'a', 'my', can_hear=False)]
    assert m.visitors['a'].language == 'my' and m.visitors['a'].turns == 0
    # Its language's probability is the confidence: a faint guess gets "sorry" and no offer in it.
    m2 = make()
    finish_all(m2, said(m2.on_faces([FaceObservation('a', 1.2, True)], 0.0)), 0.7)
    out = m2.on_heard_speech(heard.model_copy(update={'language_probability': 0.2}), 1.0)
    assert [s.text for s in said(out)] == ['<not_understood:en>'] and m2.visitors['a'].language is None
    assert m2.on_heard_speech(heard.model_copy(update={'final': False}), 1.1) == []   # partials: nothing
    # A visitor known to speak Burmese (tapped it): the screen is offered whatever Whisper's guess was.
    m2.on_language_chosen('my', None, 2.0)
    out = m2.on_heard_speech(heard.model_copy(update={'language_probability': 0.1}), 9.0)
    assert [(s.text, s.language) for s in said(out)] == [('<use_screen:my>', 'my')]
    assert not [a for a in out if isinstance(a, Ask)]
