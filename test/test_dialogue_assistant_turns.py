"""Questions to the assistant and answers back to the dialogue, across threads, without rclpy; and the
dialogue's actions as the messages the other nodes read."""
import collections
import threading

import pytest
from pydantic import ValidationError

from caexpo_robot.backend.client import AssistantReply
from caexpo_robot.dialogue.assistant_turns import AssistantTurns
from caexpo_robot.dialogue.interaction import (
    Ask,
    Cancel,
    Emit,
    FaceObservation,
    InteractionConfig,
    InteractionManager,
    Say,
    StartConversation,
)
from caexpo_robot.dialogue.outputs import as_message
from caexpo_robot.messages import (
    CancelSpeech,
    ConversationStarted,
    InteractionEvent,
    SpeakRequest,
    SpeechEvent,
    decode,
    encode,
)


def phrase(key, language, **values):
    return f'<{key}:{language}>'


def canned(language):
    return f'<canned:{language}>'


class FakeClient:
    """Records questions; the test answers them, from another thread like the real client."""

    def __init__(self, refuse=False):
        self.asked, self.ended, self.refuse = [], [], refuse

    def ask(self, visitor_id, text, language, on_reply, on_filler):
        if self.refuse:
            raise RuntimeError('client closed')
        self.asked.append((visitor_id, text, language, on_reply, on_filler))

    def end_visit(self, visitor_id):
        self.ended.append(visitor_id)

    def status(self):
        return {'breaker': 'closed'}

    def close(self):
        pass


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def listening_manager(clock):
    """A manager addressing visitor a, who has been greeted and is being listened to."""
    manager = InteractionManager(InteractionConfig(opener_languages=('en',)), phrase)
    manager.set_hearable(['en', 'vi'])
    for say in [a for a in manager.on_faces([FaceObservation('a', 1.2, True)], clock()) if isinstance(a, Say)]:
        for kind in ('utterance_started', 'utterance_finished'):
            manager.on_tts_event(SpeechEvent(t=0.0, type=kind, id=say.id), clock())
    return manager


def make(client, clock):
    counters = collections.Counter()
    wakes = []
    turns = AssistantTurns(listening_manager(clock), client, canned, 'en', clock, wake=lambda: wakes.append(1),
                           count=lambda key: counters.update([key]),
                           drop=lambda key, reason: counters.update([f'dropped_{key}']))
    return turns, counters, wakes


def question(turns, text, language):
    return next(a for a in turns.manager.on_heard(text, language, 0.9, 1.0) if isinstance(a, Ask))


def reply(text, language, source='backend', actions=()):
    return AssistantReply(text=text, language=language, intent='faq', actions=list(actions), end_session=False,
                          source=source, error=None, latency_s=0.1)


def test_a_reply_from_the_client_thread_reaches_the_dialogue_on_drain_and_busy_counts_it():
    clock, client = Clock(), FakeClient()
    turns, counters, wakes = make(client, clock)
    assert turns.ask(question(turns, 'Nhà vệ sinh ở đâu?', 'vi')) == []
    assert turns.busy == 1 and client.asked[0][:3] == ('a', 'Nhà vệ sinh ở đâu?', 'vi')
    on_reply, on_filler = client.asked[0][3], client.asked[0][4]
    clock.t = 2.2
    thread = threading.Thread(target=lambda: (on_filler('<one_moment:vi>', 'vi'), on_reply(
        reply('Tầng 1', 'vi', actions=[{'type': 'show_map', 'hall': 'A'}, {'no_type': 1}]))))
    thread.start()
    thread.join()
    assert len(wakes) == 2 and turns.busy == 1            # nothing reaches the dialogue off the executor
    actions = turns.drain()
    says = [a for a in actions if isinstance(a, Say)]
    assert [(s.text, s.tag['purpose']) for s in says] == [('<one_moment:vi>', 'filler'), ('Tầng 1', 'answer')]
    assert says[1].tag['source'] == 'backend' and turns.busy == 0
    assert [e.fields['t'] for e in actions if isinstance(e, Emit)] == [2.2]   # the injected clock
    # The malformed screen action is dropped, the answer is not; nothing canned.
    assert counters == {'dropped_assistant_action': 1}
    assert turns.drain() == []


def test_without_a_backend_the_canned_answer_comes_at_once_in_the_visitors_language():
    clock = Clock()
    turns, counters, _ = make(None, clock)
    actions = turns.ask(question(turns, 'Xin chào', 'vi'))
    answer = [a for a in actions if isinstance(a, Say)][0]
    assert answer.text == '<canned:vi>'
    assert (answer.language, answer.tag['source'], answer.tag['intent']) == ('vi', 'canned', 'fallback')
    assert counters['assistant_canned_replies'] == 1 and turns.busy == 0
    assert turns.status() == {'breaker': 'no backend configured'}


def test_a_question_the_client_refuses_gets_the_canned_answer_and_is_not_left_outstanding():
    clock = Clock()
    turns, counters, _ = make(FakeClient(refuse=True), clock)
    actions = turns.ask(question(turns, 'hello', 'en'))
    assert [a.tag['source'] for a in actions if isinstance(a, Say)] == ['canned']
    assert turns.busy == 0 and counters['dropped_question'] == 1 and counters['assistant_canned_replies'] == 1


def test_a_canned_reply_from_the_client_is_counted_and_end_visit_reaches_the_client():
    clock, client = Clock(), FakeClient()
    turns, counters, _ = make(client, clock)
    turns.ask(question(turns, 'hello', 'en'))
    client.asked[0][3](reply('<handoff_failed:en>', 'en', source='canned'))
    assert [a.text for a in turns.drain() if isinstance(a, Say)] == ['<handoff_failed:en>']
    assert counters['assistant_canned_replies'] == 1
    turns.end_visit('a')
    assert client.ended == ['a']


def test_each_dialogue_action_becomes_its_message_and_survives_the_wire():
    say = Say('a-answer-3', 'Hall 2', 'en', 2, {'visitor': 'a', 'purpose': 'answer', 'intent': 'faq',
                                              'source': 'backend'}, interrupt=True)
    message = as_message(say, 5.0)
    assert isinstance(message, SpeakRequest) and message.tag.source == 'backend' and message.priority == 2
    assert decode(SpeakRequest, encode(message)) == message
    assert as_message(Cancel('a-greeting-1'), 5.0) == CancelSpeech(id='a-greeting-1')
    assert as_message(StartConversation('a', 'vi'), 5.0) == ConversationStarted(t=5.0, visitor='a', language='vi')
    event = as_message(Emit('staff_called', {'visitor': 'a', 'language': None, 'source': 'backend',
                                             'actions': [{'type': 'call_staff', 'desk': 3}]}), 7.25)
    assert isinstance(event, InteractionEvent) and event.t == 7.25 and event.language is None
    assert event.actions[0].type == 'call_staff' and event.actions[0].model_extra == {'desk': 3}
    with pytest.raises(ValidationError):                      # a dialogue bug is an error, not a silent message
        as_message(Emit('no_such_event', {'t': 1.0}), 1.0)
