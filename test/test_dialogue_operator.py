"""Staff through telepresence (InteractionManager.on_operator): taking over and handing back the conversation,
an operator's words said and shown, stopping speech, pausing greetings, the screen's staff banner, and the
staff_requested alert. Every command is answered by exactly one event carrying its command_id."""
from itertools import count

from caexpo_robot.dialogue.interaction import (
    Abandon,
    Ask,
    Cancel,
    Emit,
    FaceObservation,
    InteractionConfig,
    InteractionManager,
    Say,
    Show,
)
from caexpo_robot.dialogue.outputs import as_message
from caexpo_robot.messages import InteractionEvent, OperatorControl, ScreenAction, ScreenCard, SpeechEvent

_ids = count(1)


def phrase(key, language, **values):
    return f'<{key}:{language}>'


def make(**config):
    manager = InteractionManager(InteractionConfig(**{'opener_languages': ('vi', 'en'), **config}), phrase)
    manager.set_hearable(('vi', 'en', 'zh', 'th'))
    manager.start(0.0)
    return manager


def op(command, operator='lan', t=0.0, **fields):
    return OperatorControl(t=t, command=command, command_id=f'c{next(_ids)}', operator=operator, **fields)


def emitted(actions, kind=None):
    return [a for a in actions if isinstance(a, Emit) and (kind is None or a.type == kind)]


def said(actions):
    return [a for a in actions if isinstance(a, Say)]


def shown(actions):
    return [a for a in actions if isinstance(a, Show)]


def answer_of(actions, control):
    """The one event answering `control` (exactly one, whatever else the command did)."""
    answers = [e for e in emitted(actions) if e.fields.get('utterance') == control.command_id]
    assert len(answers) == 1, answers
    InteractionEvent(type=answers[0].type, **{k: v for k, v in answers[0].fields.items() if v is not None})
    return answers[0]


def command(m, control, now):
    out = m.on_operator(control, now)
    return answer_of(out, control), out


def play(m, says, now):
    out = []
    for say in says:
        out += m.on_tts_event(SpeechEvent(t=now, type='utterance_started', id=say.id, language=say.language,
                                          text=say.text), now)
        out += m.on_tts_event(SpeechEvent(t=now, type='utterance_finished', id=say.id), now)
    return out


def listening(m, visitor='a', at=0.0):
    """A visitor greeted and listened to."""
    play(m, said(m.on_faces([FaceObservation(visitor, 1.2, True)], at)), at + 0.7)
    assert m.addressed == visitor


def test_take_over_is_held_by_one_operator_and_a_second_one_is_refused():
    m = make()
    listening(m)
    answer, out = command(m, op('take_over', 'lan'), 1.0)
    assert (answer.type, answer.fields['detail'], answer.fields['visitor']) == ('operator_took_over', 'lan', 'a')
    assert m.staff.holder == 'lan'
    answer, out = command(m, op('take_over', 'minh'), 1.5)
    assert (answer.type, answer.fields['detail']) == ('operator_refused', 'held by lan')
    assert m.staff.holder == 'lan' and not said(out)
    answer, _ = command(m, op('take_over', 'lan'), 2.0)     # the holder again: still theirs
    assert answer.type == 'operator_took_over'
    # Only the holder hands back, unless forced (a supervisor).
    answer, _ = command(m, op('hand_back', 'minh'), 2.5)
    assert (answer.type, answer.fields['detail']) == ('operator_refused', 'held by lan')
    answer, _ = command(m, op('hand_back', 'minh', force=True), 3.0)
    assert answer.type == 'operator_handed_back' and 'forced' in answer.fields['detail']
    assert m.staff.holder is None
    answer, _ = command(m, op('hand_back', 'lan'), 3.5)
    assert (answer.type, answer.fields['detail']) == ('operator_refused', 'not taken over')


def test_while_held_the_assistant_is_not_asked_and_after_hand_back_it_answers_again():
    m = make()
    listening(m)
    command(m, op('take_over'), 1.0)
    out = m.on_heard('Where is hall 5?', 'en', 0.9, 2.0)
    assert not [a for a in out if isinstance(a, Ask)]
    assert not said(out)                                # no filler, no "one moment", nothing of the robot's own
    heard = emitted(out, 'utterance_heard')             # but the operator reads what the visitor said
    assert heard[0].fields['text'] == 'Where is hall 5?' and 'lan' in heard[0].fields['detail']
    assert m.visitors['a'].language == 'en'             # the visitor's language is still learnt
    # Unheard words get no "sorry?" from the robot either: the operator sees them.
    out = m.on_heard('mumble', 'en', 0.1, 3.0)
    assert emitted(out, 'not_understood') and not said(out)
    # A long silence while held: no prompt and no farewell.
    for t in (20.0, 60.0, 170.0):
        assert not said(m.tick(t))
    assert m.addressed == 'a' and m.visitors['a'].stage.value == 'listening'
    answer, _ = command(m, op('hand_back'), 171.0)
    assert answer.type == 'operator_handed_back'
    assert not said(m.tick(175.0))                      # the quiet clock restarted at the hand back
    out = m.on_heard('And the toilets?', 'en', 0.9, 176.0)
    assert [a for a in out if isinstance(a, Ask)] == [Ask('a', 'And the toilets?', 'en')]
    out = m.on_reply('a', 'Behind you.', 'en', 'faq', [], False, 'backend', 176.5)
    assert [s.tag['purpose'] for s in said(out)] == ['answer']


def test_taking_over_while_the_assistant_thinks_drops_its_question_and_filler():
    m = make()
    listening(m)
    m.on_heard('Where is hall 5?', 'en', 0.9, 2.0)
    filler = said(m.on_filler('a', 'One moment', 'en', 2.5))[0]
    m.on_tts_event(SpeechEvent(t=2.5, type='utterance_started', id=filler.id), 2.5)
    _, out = command(m, op('take_over'), 2.6)
    assert Abandon('a') in out and Cancel(filler.id) in out
    assert m.visitors['a'].stage.value == 'listening'
    # The assistant's late reply is not said; neither is the canned answer when its bound passes.
    assert not m.on_reply('a', 'Hall 5 is left.', 'en', 'directions', [], False, 'backend', 3.0)
    assert not said(m.tick(10.0))


def test_say_is_spoken_in_the_visitors_language_at_high_priority_and_shown_with_the_banner():
    m = make()
    listening(m)
    m.on_heard('Xin chào', 'vi', 0.9, 1.0)               # the visitor's language: Vietnamese
    m.on_reply('a', 'Chào', 'vi', 'small_talk', [], False, 'backend', 1.2)
    control = op('say', text='  Tôi là nhân viên, tôi sẽ giúp quý khách.  ')
    answer, out = command(m, control, 2.0)
    [say] = said(out)
    assert (say.text, say.language, say.priority) == ('Tôi là nhân viên, tôi sẽ giúp quý khách.', 'vi', 2)
    assert say.tag == {'visitor': 'a', 'purpose': 'operator', 'source': 'operator'}
    assert (answer.type, answer.fields['text'], answer.fields['language']) == ('operator_said', say.text, 'vi')
    [card] = shown(out)
    assert (card.kind, card.text, card.language, card.staff) == ('answer', say.text, 'vi', 'speaking')
    message = as_message(card, 2.0)
    assert isinstance(message, ScreenCard) and message.staff == 'speaking'
    # Said: the banner goes (nobody holds or watches), and the visitor's listening clock restarts.
    out = play(m, [say], 3.0)
    assert [c.staff for c in shown(out)] == [None]
    # Another language on request.
    answer, out = command(m, op('say', text='Hello', language='en'), 4.0)
    assert said(out)[0].language == 'en'
    # Nothing to say: refused, nothing said.
    answer, out = command(m, op('say', text='   '), 5.0)
    assert answer.type == 'operator_refused' and not said(out)


def test_say_with_nobody_addressed_uses_the_default_language_and_keeps_the_card():
    m = make(default_language='zh')
    answer, out = command(m, op('say', text='欢迎'), 1.0)
    assert said(out)[0].language == 'zh' and said(out)[0].tag['visitor'] is None
    assert [(c.kind, c.staff) for c in shown(out)] == [('attract', 'speaking')]
    assert [c.staff for c in shown(play(m, said(out), 2.0))] == [None]


def test_stop_speech_cancels_what_plays_and_is_queued_farewells_included():
    m = make()
    listening(m)
    m.on_heard('Where is hall 5?', 'en', 0.9, 1.0)
    answer_say = said(m.on_reply('a', 'Hall 5 is left.', 'en', 'directions', [], False, 'backend', 1.2))[0]
    m.on_tts_event(SpeechEvent(t=1.3, type='utterance_started', id=answer_say.id), 1.3)
    operator_say = said(m.on_operator(op('say', text='Wait'), 1.4))[0]
    answer, out = command(m, op('stop_speech'), 1.5)
    assert answer.type == 'operator_stopped_speech'
    assert {c.id for c in out if isinstance(c, Cancel)} == {answer_say.id, operator_say.id}
    # A farewell too (the visitor left while the robot talked to someone else ... or an operator wants quiet).
    farewell = said(m.on_faces([], 5.0))
    assert [s.tag['purpose'] for s in farewell] == ['farewell']
    _, out = command(m, op('stop_speech'), 5.1)
    assert Cancel(farewell[0].id) in out
    finished = m.on_tts_event(SpeechEvent(t=5.2, type='utterance_cancelled', id=farewell[0].id), 5.2)
    assert emitted(finished, 'farewell_finished')


def test_paused_greeting_greets_nobody_new_but_the_conversation_goes_on():
    m = make()
    listening(m)
    answer, _ = command(m, op('pause_greeting'), 1.0)
    assert answer.type == 'greeting_paused'
    out = m.on_faces([FaceObservation('a', 1.2, True), FaceObservation('b', 1.5, True)], 2.0)
    assert emitted(out, 'visitor_engaged') and not said(out)          # b is not greeted
    out = m.on_heard('Where is hall 5?', 'en', 0.9, 3.0)                # a's conversation goes on
    assert [a for a in out if isinstance(a, Ask)]
    m.on_reply('a', 'Left.', 'en', 'directions', [], False, 'backend', 3.2)
    out = m.on_faces([FaceObservation('b', 1.5, True)], 10.0)           # a leaves: goodbye, b still not greeted
    assert [s.tag['purpose'] for s in said(out)] == ['farewell'] and m.addressed is None
    answer, out = command(m, op('resume_greeting'), 11.0)
    assert answer.type == 'greeting_resumed'
    assert [s.text for s in said(out)] == ['<hello:vi>'] and m.addressed == 'b'   # greeted now


def test_watchers_show_the_watching_banner_until_the_last_one_leaves():
    # `watching` is the telepresence core's aggregate (anyone watching), whoever's command carried it.
    m = make()
    answer, out = command(m, op('watch', 'lan', watching=True), 1.0)
    assert answer.type == 'operator_watch' and [c.staff for c in shown(out)] == ['watching']
    _, out = command(m, op('watch', 'minh', watching=True), 1.1)
    assert not shown(out)                                               # unchanged
    listening(m, at=2.0)
    assert m.card.staff == 'watching'                                   # every new card carries it
    _, out = command(m, op('take_over', 'lan'), 3.0)
    assert [c.staff for c in shown(out)] == ['speaking']
    _, out = command(m, op('hand_back', 'lan'), 4.0)
    assert [c.staff for c in shown(out)] == ['watching']
    _, out = command(m, op('watch', 'lan', watching=True), 5.0)        # lan left; minh still watches
    assert not shown(out) and m.staff.watched
    _, out = command(m, op('watch', 'minh', watching=False), 5.1)      # nobody watches any more
    assert [c.staff for c in shown(out)] == [None]
    answer, _ = command(m, op('watch', 'minh'), 6.0)
    assert answer.type == 'operator_refused'


def test_the_watching_banner_goes_when_the_last_watcher_leaves_through_the_telepresence_core():
    # ann and bob watch, ann closes her view, then bob: the core sends (ann, True) then (bob, False); the
    # banner must follow the aggregate, not add ann back on her own "stopped watching".
    from caexpo_robot.fleet import protocol as p
    from caexpo_robot.telepresence.core import TelepresenceCore
    core, m = TelepresenceCore(), make()
    for t, (operator, watching) in enumerate([('ann', True), ('bob', True), ('ann', False), ('bob', False)]):
        body = p.COMMAND_KINDS['watch'](command_id=f'{t:032x}', operator=operator, watching=watching)
        for control in core.on_command('watch', body, float(t)):
            if isinstance(control, OperatorControl):
                m.on_operator(control, float(t))
        assert m.card.staff == ('watching' if t < 3 else None), (t, m.card)
    assert core.watchers == set() and not m.staff.watched


def test_say_is_refused_while_another_operator_holds_the_conversation():
    m = make()
    listening(m)
    command(m, op('take_over', 'lan'), 1.0)
    answer, out = command(m, op('say', 'minh', text='Hello'), 2.0)
    assert (answer.type, answer.fields['detail']) == ('operator_refused', 'held by lan') and not said(out)
    answer, out = command(m, op('say', 'lan', text='Hello'), 3.0)       # the holder speaks
    assert answer.type == 'operator_said' and [s.text for s in said(out)] == ['Hello']


def test_an_operator_utterance_tts_never_reports_expires_and_the_speaking_banner_goes():
    m = make(speech_timeout_s=15.0)
    listening(m)
    [say] = said(command(m, op('say', 'lan', text='Hello'), 1.0)[1])
    assert m.card.staff == 'speaking'
    assert not shown(m.tick(15.9))                                      # still within the timeout
    assert [c.staff for c in shown(m.tick(16.0))] == [None] and say.id not in m.utterances
    # one that started playing runs its duration first
    [say] = said(command(m, op('say', 'lan', text='A long message'), 20.0)[1])
    m.on_tts_event(SpeechEvent(t=30.0, type='utterance_started', id=say.id, language='vi', text='x',
                               duration_s=10.0), 30.0)
    assert m.card.staff == 'speaking' and not shown(m.tick(54.9))
    assert [c.staff for c in shown(m.tick(55.0))] == [None]


def test_staff_requested_once_per_conversation_for_a_call_or_the_canned_promise():
    m = make()
    listening(m)
    m.on_heard('I need a person', 'en', 0.9, 1.0)
    out = m.on_reply('a', 'I have called staff.', 'en', 'call_staff', [ScreenAction(type='call_staff')], False,
                     'backend', 1.2)
    [alert] = emitted(out, 'staff_requested')
    assert (alert.fields['text'], alert.fields['visitor']) == ('I need a person', 'a')
    play(m, said(out), 1.5)
    m.on_heard('Where is hall 5?', 'en', 0.9, 2.0)
    out = m.on_reply('a', 'Sorry, ... A staff member will come.', 'en', 'fallback',
                     [ScreenAction(type='offer_call_staff')], False, 'canned', 2.2)
    assert not emitted(out, 'staff_requested')                          # once per conversation
    # Another visitor, backend unreachable: the canned answer promises staff, so the operators are told.
    m2 = make()
    listening(m2)
    m2.on_heard('Where is hall 5?', 'en', 0.9, 1.0)
    out = m2.tick(5.0)                                                  # the assistant never answered
    [alert] = emitted(out, 'staff_requested')
    assert alert.fields['source'] == 'canned'
    # An ordinary answer alerts nobody.
    m3 = make()
    listening(m3)
    m3.on_heard('Where is hall 5?', 'en', 0.9, 1.0)
    assert not emitted(m3.on_reply('a', 'Left.', 'en', 'directions', [], False, 'backend', 1.2), 'staff_requested')


def test_a_hold_nobody_uses_lapses_and_the_robot_answers_again():
    m = make(operator_idle_s=100.0)
    listening(m)
    command(m, op('take_over', 'lan'), 1.0)
    m.on_heard('Hello?', 'en', 0.9, 50.0)                # the visitor's words keep the hold alive
    assert not emitted(m.tick(149.0), 'operator_handed_back')
    out = m.tick(150.0)
    [lapsed] = emitted(out, 'operator_handed_back')
    assert lapsed.fields.get('utterance') is None and 'lan' in lapsed.fields['detail']
    assert m.staff.holder is None and [c.staff for c in shown(out)] == [None]
    out = m.on_heard('Where is hall 5?', 'en', 0.9, 151.0)
    assert [a for a in out if isinstance(a, Ask)]
