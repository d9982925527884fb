"""TelepresenceCore on a scripted clock: a conversation becomes fleet events; commands become OperatorControl
and acks once the interaction node answers; watchers; alerts from the dialogue and diagnostics; the queue
while the console link is down. Every body is a protocol model (the envelope signs what it validates)."""
from __future__ import annotations

import uuid

from caexpo_robot.fleet import protocol as p
from caexpo_robot.messages import (
    HeardSpeech,
    InteractionEvent,
    OperatorControl,
    ScreenAction,
    ScreenCard,
    SpeechEvent,
    UtteranceTag,
)
from caexpo_robot.telepresence.core import DiagnosticReport, FleetEvent, TelepresenceConfig, TelepresenceCore


def ev(t, type_, **kw) -> InteractionEvent:
    return InteractionEvent(t=t, type=type_, **kw)


def kinds(out) -> list[str]:
    return [o.kind if isinstance(o, FleetEvent) else 'control' for o in out]


def of(out, kind) -> list:
    return [o.body for o in out if isinstance(o, FleetEvent) and o.kind == kind]


def cmd(kind, operator='ann', **kw):
    return kind, p.COMMAND_KINDS[kind](command_id=uuid.uuid4().hex, operator=operator, **kw)


def answer(t, visitor, text, intent, source='backend', id_='u9'):
    return SpeechEvent(t=t, type='utterance_started', id=id_, language='en', text=text,
                       tag=UtteranceTag(purpose='answer', visitor=visitor, intent=intent, source=source))


def test_a_conversation_becomes_utterances_a_reply_and_its_summary():
    core = TelepresenceCore()
    out = core.on_interaction_event(ev(1.0, 'visitor_detected', visitor='v1'), 1.0)
    out += core.on_interaction_event(ev(1.2, 'visitor_engaged', visitor='v1'), 1.2)
    out += core.on_speech_event(SpeechEvent(t=1.5, type='utterance_started', id='g1', language='en', text='Hello!',
                                            tag=UtteranceTag(purpose='greeting', visitor='v1')), 1.5)
    out += core.on_interaction_event(ev(1.5, 'greeting_started', visitor='v1', language='en'), 1.5)
    conversation = core.conversation.id
    out += core.on_heard(HeardSpeech(text='where is', language='en', final=False), 3.0)
    out += core.on_heard(HeardSpeech(text='where is hall B', language='en', final=True, confidence=0.9), 3.4)
    out += core.on_interaction_event(ev(3.4, 'question_sent', visitor='v1', text='where is hall B',
                                        language='en'), 3.4)
    out += core.on_screen(ScreenCard(t=3.9, kind='answer', visitor='v1', language='en', text='Hall B is on the '
                                     'left, past the café.', actions=[ScreenAction(type='show_map', title='Map')]), 3.9)
    out += core.on_speech_event(answer(4.0, 'v1', 'Hall B: left.', 'directions'), 4.0)
    out += core.on_interaction_event(ev(5.0, 'question_sent', visitor='v1', text='can I bring my dog'), 5.0)
    out += core.on_speech_event(answer(5.5, 'v1', 'Sorry.', 'fallback', 'canned', id_='u10'), 5.5)
    out += core.on_interaction_event(ev(9.0, 'visitor_left', visitor='v1'), 9.0)
    utterances = of(out, 'utterance')
    assert [(u.side, u.text, u.final) for u in utterances] == [
        ('robot', 'Hello!', True), ('visitor', 'where is', False), ('visitor', 'where is hall B', True),
        ('robot', 'Hall B: left.', True), ('robot', 'Sorry.', True)]
    assert all(u.conversation == conversation and u.visitor == 'v1' for u in utterances[1:])
    reply = of(out, 'reply')[0]
    assert (reply.text, reply.intent, reply.source, reply.actions) == (
        'Hall B is on the left, past the café.', 'directions', 'backend', ['Map'])
    [ended] = of(out, 'conversation_ended')
    assert (ended.conversation, ended.visitor, ended.language, ended.turns, ended.answered) == (
        conversation, 'v1', 'en', 2, 1)
    assert ended.intents == ['directions'] and ended.unanswered == ['can I bring my dog']
    assert ended.latencies_ms == [600.0, 500.0]
    assert (ended.started_at, ended.ended_at) == (1.2, 9.0)
    # the counters window: one seen, one engaged, one served, in English
    core.tick(10.0)
    counters = of(core.tick(70.0), 'counters')
    assert [(c.seen, c.engaged, c.served, c.languages) for c in counters] == [(1, 1, 1, {'en': 1})]


def test_heartbeat_every_second_with_the_robot_state():
    core = TelepresenceCore()
    assert kinds(core.tick(0.0)) == ['heartbeat']
    assert core.tick(0.5) == []
    core.on_screen(ScreenCard(t=0.6, kind='listening', visitor='v1', language='th'), 0.6)
    core.on_speech_event(SpeechEvent(t=0.7, type='utterance_started', id='s1', text='สวัสดี', language='th'), 0.7)
    core.on_diagnostics([DiagnosticReport('caexpo_robot: /a/camera', 0, 'streaming'),
                         DiagnosticReport('caexpo_robot: /a/asr', 1, 'whisper warming up')], 0.8)
    [beat] = of(core.tick(1.0), 'heartbeat')
    state = beat.state
    assert (state.screen, state.speaking, state.greeting_paused, state.takeover_owner) == ('listening', True, False,
                                                                                           None)
    assert state.diagnostics_level == 1 and [d.name for d in state.diagnostics] == ['caexpo_robot: /a/asr',
                                                                                     'caexpo_robot: /a/camera']
    # a node that stops reporting is STALE
    assert of(core.tick(7.0), 'heartbeat')[0].state.diagnostics_level == 3


def test_commands_become_operator_control_and_are_acked_when_the_interaction_node_answers():
    core = TelepresenceCore()
    kind, take = cmd('take_over', operator='ann')
    [control] = core.on_command(kind, take, 1.0)
    assert isinstance(control, OperatorControl)
    assert (control.command, control.command_id, control.operator) == ('take_over', take.command_id, 'ann')
    assert core.takeover_owner is None      # the interaction node decides, not the core
    out = core.on_interaction_event(ev(1.1, 'operator_took_over', utterance=take.command_id, detail='ann'), 1.1)
    assert [(a.command_id, a.ok, a.error) for a in of(out, 'ack')] == [(take.command_id, True, None)]
    assert core.takeover_owner == 'ann'
    # a second operator's takeover: refused by the interaction node, the reason in the ack
    kind, second = cmd('take_over', operator='bob')
    core.on_command(kind, second, 2.0)
    out = core.on_interaction_event(ev(2.1, 'operator_refused', utterance=second.command_id, detail='held by ann'),
                                    2.1)
    assert [(a.ok, a.error) for a in of(out, 'ack')] == [(False, 'held by ann')]
    assert core.takeover_owner == 'ann'
    # say: the operator's words reach the console as an operator utterance once the robot says them
    kind, say = cmd('say', operator='ann', text='Xin chào', language='vi')
    [control] = core.on_command(kind, say, 3.0)
    assert (control.command, control.text, control.language) == ('say', 'Xin chào', 'vi')
    core.on_speech_event(SpeechEvent(t=3.2, type='utterance_started', id=say.command_id, text='Xin chào',
                                     language='vi', tag=UtteranceTag(purpose='operator')), 3.2)
    out = core.on_interaction_event(ev(3.2, 'operator_said', utterance=say.command_id, text='Xin chào',
                                       language='vi', detail='ann'), 3.2)
    assert [(u.side, u.text, u.operator) for u in of(out, 'utterance')] == [('operator', 'Xin chào', 'ann')]
    assert of(out, 'ack')[0].ok
    # hand back: forced by a supervisor, confirmed, the owner cleared; the state says so
    kind, back = cmd('hand_back', operator='sup', force=True)
    [control] = core.on_command(kind, back, 4.0)
    assert control.force is True
    core.on_interaction_event(ev(4.1, 'operator_handed_back', utterance=back.command_id, detail='sup'), 4.1)
    assert core.takeover_owner is None
    # pause / resume greeting mirror the interaction node's events
    kind, pause = cmd('pause_greeting')
    core.on_command(kind, pause, 5.0)
    core.on_interaction_event(ev(5.1, 'greeting_paused', utterance=pause.command_id), 5.1)
    assert of(core.tick(5.2), 'heartbeat')[0].state.greeting_paused is True


def test_an_unanswered_command_is_acked_as_failed_after_the_timeout():
    core = TelepresenceCore(TelepresenceConfig(command_timeout_s=3.0))
    kind, stop = cmd('stop_speech')
    core.on_command(kind, stop, 10.0)
    assert of(core.tick(12.9), 'ack') == []
    [ack] = of(core.tick(13.0), 'ack')
    assert (ack.command_id, ack.ok, ack.error) == (stop.command_id, False, 'no answer from the robot')
    # a late answer changes nothing (already acked) and a repeated command id is ignored while pending
    assert of(core.on_interaction_event(ev(13.5, 'operator_stopped_speech', utterance=stop.command_id), 13.5),
              'ack') == []
    kind, say = cmd('say', text='hi')
    assert len(core.on_command(kind, say, 14.0)) == 1 and core.on_command(kind, say, 14.1) == []


def test_watchers_thumbnails_and_the_watch_ack_at_once():
    core = TelepresenceCore(TelepresenceConfig(thumbnail_s=1.0))
    assert not core.wants_thumbnail(0.0)
    kind, ann = cmd('watch', operator='ann', watching=True)
    out = core.on_command(kind, ann, 1.0)
    assert [o.watching for o in out if isinstance(o, OperatorControl)] == [True]
    assert of(out, 'ack')[0].ok
    kind, bob = cmd('watch', operator='bob', watching=True)
    core.on_command(kind, bob, 1.1)
    assert core.wants_thumbnail(1.1)
    out = core.on_thumbnail(b'\xff\xd8\xff\xe0jpeg', 320, 240, 2, 1.05, 1.1)
    assert [(t.width, t.faces_blurred, t.jpeg()) for t in of(out, 'thumbnail')] == [(320, 2, b'\xff\xd8\xff\xe0jpeg')]
    assert not core.wants_thumbnail(1.5) and core.wants_thumbnail(2.1)
    # ann closes her view: bob still watches, so the screen keeps saying so
    kind, ann_off = cmd('watch', operator='ann', watching=False)
    out = core.on_command(kind, ann_off, 3.0)
    assert [o.watching for o in out if isinstance(o, OperatorControl)] == [True]
    assert of(core.tick(3.0), 'heartbeat')[0].state.watchers == ['bob']
    kind, bob_off = cmd('watch', operator='bob', watching=False)
    out = core.on_command(kind, bob_off, 4.0)
    assert [o.watching for o in out if isinstance(o, OperatorControl)] == [False]
    assert not core.wants_thumbnail(5.0)


def test_alerts_staff_requested_visitor_waiting_and_diagnostics_raise_clear_and_acknowledge():
    core = TelepresenceCore(TelepresenceConfig(visitor_waiting_s=20.0, diagnostics_after_s=5.0))
    out = core.on_interaction_event(ev(1.0, 'visitor_engaged', visitor='v1'), 1.0)
    out += core.on_interaction_event(ev(2.0, 'staff_requested', visitor='v1', language='km', text='help'), 2.0)
    [staff] = of(out, 'alert')
    assert (staff.type, staff.visitor, staff.language) == ('staff_requested', 'v1', 'km')
    # engaged, never greeted (greeting paused): waiting after 20 s; the greeting clears it
    assert of(core.tick(20.9), 'alert') == []
    [waiting] = of(core.tick(21.0), 'alert')
    assert waiting.type == 'visitor_waiting' and 'not greeted' in waiting.detail
    out = core.on_interaction_event(ev(22.0, 'greeting_started', visitor='v1'), 22.0)
    assert [c.alert_id for c in of(out, 'alert_cleared')] == [waiting.alert_id]
    # the backend down for 5 s (the interaction node's breaker): one alert, cleared when it is back
    down = [DiagnosticReport('caexpo_robot: /interaction', 1, 'assistant backend unavailable (breaker open)')]
    assert of(core.on_diagnostics(down, 30.0), 'alert') == []
    [backend] = of(core.on_diagnostics(down, 35.0), 'alert')
    assert backend.type == 'backend_down' and of(core.on_diagnostics(down, 36.0), 'alert') == []
    out = core.on_diagnostics([DiagnosticReport('caexpo_robot: /interaction', 0, 'waiting for visitors')], 37.0)
    assert [c.alert_id for c in of(out, 'alert_cleared')] == [backend.alert_id]
    # a microphone that reports an error
    mic = [DiagnosticReport('caexpo_robot: /microphone', 2, 'no microphone: no input device')]
    core.on_diagnostics(mic, 40.0)
    assert [a.type for a in of(core.on_diagnostics(mic, 45.0), 'alert')] == ['no_microphone']
    # acknowledging: known alerts ok, unknown refused
    kind, ack_staff = cmd('acknowledge_alert', alert_id=staff.alert_id)
    assert [(a.ok, a.error) for a in of(core.on_command(kind, ack_staff, 50.0), 'ack')] == [(True, None)]
    kind, ack_unknown = cmd('acknowledge_alert', alert_id='nope')
    assert [(a.ok, a.error) for a in of(core.on_command(kind, ack_unknown, 50.0), 'ack')] == [(False, 'unknown alert')]


def test_while_the_link_is_down_events_queue_alerts_first_and_are_delivered_when_it_returns():
    core = TelepresenceCore(TelepresenceConfig(queue_capacity=4))
    kind, watch = cmd('watch', operator='ann', watching=True)
    core.on_command(kind, watch, 0.0)
    out = core.set_link(False, 1.0)
    # nobody can watch over a dead link: the screen stops saying so
    assert [(o.command, o.watching) for o in out if isinstance(o, OperatorControl)] == [('watch', False)]
    assert core.tick(1.0) == []                                  # the heartbeat is not queued
    core.on_interaction_event(ev(2.0, 'visitor_engaged', visitor='v1'), 2.0)
    core.on_interaction_event(ev(2.1, 'staff_requested', visitor='v1'), 2.1)
    for i in range(5):   # the robot goes on serving: utterances pile up past the capacity
        core.on_heard(HeardSpeech(text=f'question {i}', language='en', final=True), 3.0 + i)
    assert len(core.queue) == 4 and core.drops['queue_full_utterance'] == 2
    out = core.set_link(True, 10.0)
    assert kinds(out) == ['alert', 'utterance', 'utterance', 'utterance', 'heartbeat']
    assert [u.text for u in of(out, 'utterance')] == ['question 2', 'question 3', 'question 4']
    assert not core.queue


def test_an_unknown_command_kind_or_invalid_body_is_refused_with_an_ack_and_counted():
    core = TelepresenceCore()
    _, body = cmd('take_over')
    out = core.on_command('self_destruct', body, 1.0)
    assert [(a.ok, a.error) for a in of(out, 'ack')] == [(False, "unknown command 'self_destruct'")]
    assert not [o for o in out if isinstance(o, OperatorControl)]
    assert core.drops['unknown_command'] == 1
    # a body of another kind than it claims is refused the same way
    out = core.on_command('say', body, 1.0)
    assert [(a.ok, a.error) for a in of(out, 'ack')] == [(False, "unknown command 'say'")]


def test_an_open_alert_is_sent_again_until_acknowledged():
    # At least once: the link being open does not mean a console heard the alert (it may have been down or
    # restarting); the console keeps each alert id once, so repeats are harmless there.
    core = TelepresenceCore(TelepresenceConfig(alert_repeat_s=15.0))
    core.tick(0.0)
    [staff] = of(core.on_interaction_event(ev(1.0, 'staff_requested', visitor='v1'), 1.0), 'alert')
    assert of(core.tick(14.9), 'alert') == []
    assert [a.alert_id for a in of(core.tick(15.0), 'alert')] == [staff.alert_id]
    assert of(core.tick(20.0), 'alert') == [] and core.alerts_repeated == 1
    kind, ack = cmd('acknowledge_alert', alert_id=staff.alert_id)
    core.on_command(kind, ack, 21.0)
    assert of(core.tick(31.0), 'alert') == [] and of(core.tick(60.0), 'alert') == []   # acknowledged: no more
    # while the link is down nothing is repeated (the queue holds the alert once)
    [other] = of(core.on_interaction_event(ev(61.0, 'staff_requested', visitor='v2'), 61.0), 'alert')
    core.set_link(False, 62.0)
    core.tick(90.0)
    assert [e.body.alert_id for e in core.queue if e.kind == 'alert'] == []   # sent before the link went down
    assert core.alerts_repeated == 1


def test_a_watcher_the_console_stops_confirming_is_forgotten():
    core = TelepresenceCore(TelepresenceConfig(watch_ttl_s=30.0))
    core.tick(0.0)
    kind, watch = cmd('watch', operator='ann', watching=True)
    [control] = [o for o in core.on_command(kind, watch, 1.0) if isinstance(o, OperatorControl)]
    assert control.watching is True and core.watchers == {'ann'}
    # the console confirms the open view every ~10 s: acked, no new OperatorControl (nothing changed)
    kind, again = cmd('watch', operator='ann', watching=True)
    out = core.on_command(kind, again, 11.0)
    assert kinds(out) == ['ack'] and of(out, 'ack')[0].ok
    assert [o for o in core.tick(40.9) if isinstance(o, OperatorControl)] == []   # 29.9 s since confirmed
    # then the console is gone without a word: forgotten 30 s after its last confirmation, the banner goes
    [gone] = [o for o in core.tick(41.0) if isinstance(o, OperatorControl)]
    assert (gone.command, gone.watching, gone.operator) == ('watch', False, 'ann')
    assert core.watchers == set() and core.watchers_expired == 1 and not core.wants_thumbnail(41.5)


def test_an_acknowledged_alert_is_not_kept_and_a_staff_request_ends_with_its_conversation():
    core = TelepresenceCore(TelepresenceConfig(alert_repeat_s=15.0))
    core.tick(0.0)
    core.on_interaction_event(ev(1.0, 'visitor_engaged', visitor='v1'), 1.0)
    core.on_interaction_event(ev(1.5, 'greeting_started', visitor='v1'), 1.5)
    [acked] = of(core.on_interaction_event(ev(2.0, 'staff_requested', visitor='v1'), 2.0), 'alert')
    kind, ack = cmd('acknowledge_alert', alert_id=acked.alert_id)
    core.on_command(kind, ack, 3.0)
    assert acked.alert_id not in core.alerts                 # acknowledged: no repeat, nothing kept open
    kind, again = cmd('acknowledge_alert', alert_id=acked.alert_id)
    assert [a.ok for a in of(core.on_command(kind, again, 3.5), 'ack')] == [True]   # a second ack is fine
    out = core.on_interaction_event(ev(4.0, 'visitor_left', visitor='v1'), 4.0)
    assert of(out, 'alert_cleared') == []                    # acknowledged: the console's ack closed it
    # a staff request nobody answered is cleared when the visitor leaves, and no longer repeated
    core.on_interaction_event(ev(5.0, 'visitor_engaged', visitor='v2'), 5.0)
    core.on_interaction_event(ev(5.5, 'greeting_started', visitor='v2'), 5.5)
    [open_] = of(core.on_interaction_event(ev(6.0, 'staff_requested', visitor='v2'), 6.0), 'alert')
    out = core.on_interaction_event(ev(7.0, 'visitor_left', visitor='v2'), 7.0)
    assert [c.alert_id for c in of(out, 'alert_cleared')] == [open_.alert_id]
    assert core.alerts == {} and of(core.tick(30.0), 'alert') == []


def test_open_and_acknowledged_alerts_are_capped_oldest_first_and_counted():
    core = TelepresenceCore()
    ids = [a.alert_id for i in range(205)
           for a in of(core.on_interaction_event(ev(i, 'staff_requested', visitor=None), float(i)), 'alert')]
    assert len(core.alerts) == 200 and list(core.alerts) == ids[5:] and core.drops['alerts_full'] == 5
    for alert_id in ids[5:]:
        kind, ack = cmd('acknowledge_alert', alert_id=alert_id)
        core.on_command(kind, ack, 300.0)
    for _ in range(5):
        [a] = of(core.on_interaction_event(ev(301.0, 'staff_requested', visitor=None), 301.0), 'alert')
        kind, ack = cmd('acknowledge_alert', alert_id=a.alert_id)
        core.on_command(kind, ack, 302.0)
    assert len(core.acknowledged) == 200 and ids[5] not in core.acknowledged
    assert core.drops['acknowledged_full'] == 5 and core.alerts == {}


def test_a_staff_request_nobody_takes_up_becomes_handoff_failed():
    core = TelepresenceCore(TelepresenceConfig(handoff_timeout_s=90.0, visitor_waiting_s=1000.0))
    core.tick(0.0)
    core.on_interaction_event(ev(1.0, 'visitor_engaged', visitor='v1'), 1.0)
    core.on_interaction_event(ev(1.5, 'greeting_started', visitor='v1', language='th'), 1.5)
    [staff] = of(core.on_interaction_event(ev(2.0, 'staff_requested', visitor='v1', language='th', text='help'),
                                           2.0), 'alert')
    assert [a for a in of(core.tick(91.9), 'alert') if a.type == 'handoff_failed'] == []
    [failed] = [a for a in of(core.tick(92.0), 'alert') if a.type == 'handoff_failed']
    assert (failed.visitor, failed.language) == ('v1', 'th') and '90 s' in failed.detail
    again = [a.alert_id for a in of(core.tick(200.0), 'alert') if a.type == 'handoff_failed']
    assert set(again) <= {failed.alert_id}   # raised once (repeated as the same alert until acknowledged)
    # an operator acknowledges the request: the failed handoff is over
    kind, ack = cmd('acknowledge_alert', alert_id=staff.alert_id)
    core.on_command(kind, ack, 201.0)
    assert [c.alert_id for c in of(core.tick(201.1), 'alert_cleared')] == [failed.alert_id]
    # next visitor: requested, failed, then they leave: both cleared
    core.on_interaction_event(ev(300.0, 'visitor_engaged', visitor='v2'), 300.0)
    core.on_interaction_event(ev(300.5, 'greeting_started', visitor='v2', language='en'), 300.5)
    [staff2] = of(core.on_interaction_event(ev(301.0, 'staff_requested', visitor='v2'), 301.0), 'alert')
    [failed2] = [a for a in of(core.tick(391.0), 'alert') if a.type == 'handoff_failed']
    cleared = of(core.on_interaction_event(ev(400.0, 'visitor_left', visitor='v2'), 400.0), 'alert_cleared')
    assert {c.alert_id for c in cleared} == {staff2.alert_id, failed2.alert_id}
