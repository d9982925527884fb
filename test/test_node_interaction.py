"""interaction node with real topics: faces in, greeting requests, screen cards and events out; taps and
typing from the screen in; languages in diagnostics."""
from functools import partial

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from std_msgs.msg import String

from caexpo_robot.messages import (
    BargeIn,
    CancelSpeech,
    ConversationStarted,
    FacesFrame,
    HearableLanguages,
    HeardSpeech,
    InteractionEvent,
    LanguageChosen,
    ScreenCard,
    SpeakRequest,
    SpeechEvent,
    TrackedFace,
    TypedQuestion,
)
from caexpo_robot.nodes.interaction_node import InteractionNode
from ros_harness import ros_graph


def faces(t, *entries):
    return FacesFrame(stamp=t, frame_id='camera', width=640, height=480,
                      faces=[TrackedFace(id=i, x=0.4, y=0.3, w=0.1, h=0.1, score=0.9, distance_m=d, facing=0.9,
                                         confirmed=True, engaged=e) for i, d, e in entries])


def test_engaged_face_is_greeted_and_bad_messages_are_counted():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['vi', 'en'])])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        requests = g.listen_messages(SpeakRequest)
        interaction_events = g.listen_messages(InteractionEvent)
        screen = g.listen_messages(ScreenCard)
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
        raw_faces = g.publisher(FacesFrame.TOPIC)
        g.typed_publisher(HearableLanguages)
        g.wait_for_subscribers(raw_faces)
        g.wait_for_subscribers(g.typed_publisher(FacesFrame))
        g.wait_for_subscribers(g.typed_publisher(HearableLanguages))
        g.wait_for_subscribers(g.typed_publisher(LanguageChosen))
        g.wait_until_heard(node.advertise(SpeakRequest), node.advertise(InteractionEvent))
        g.send(HearableLanguages(hearable=['ko']))
        assert g.spin_until(lambda: node.manager.hearable == {'ko'})

        raw_faces.publish(String(data='{"stamp": 1}'))                  # missing fields
        raw_faces.publish(String(data='not json'))
        assert g.spin_until(lambda: node.counters['dropped_FacesFrame'] == 2)

        g.send(faces(1.0, ('f0001', 2.8, False)))
        g.send(faces(1.1, ('f0001', 1.5, True)))
        # Said: a short hello in the first opener language; the welcome in both is on the screen (latched).
        assert g.spin_until(lambda: requests and any(c.kind == 'greeting' for c in screen))
        hello = ('vi', 'greeting', node.phrase('hello', 'vi'))
        assert [(r.language, r.tag.purpose, r.text) for r in requests] == [hello]
        assert screen[0].kind == 'attract'
        assert [(c.visitor, c.languages) for c in screen if c.kind == 'greeting'] == [('f0001', ['vi', 'en'])]
        # English tapped on the screen, which the robot cannot hear: "please type", said in English.
        g.send(LanguageChosen(language='en'))
        assert g.spin_until(lambda: len(requests) >= 2)
        assert requests[-1].language == 'en' and requests[-1].text == node.phrase('use_screen', 'en')
        assert g.spin_until(lambda: screen[-1].kind == 'listening' and screen[-1].can_hear is False)
        kinds = [e.type for e in interaction_events]
        assert kinds[:2] == ['visitor_detected', 'visitor_engaged']

        def latest():   # diagnostics come at 1 Hz: wait for one published after all of the above
            reports = [{kv.key: kv.value for kv in s.values}
                       for d in diagnostics for s in d.status if s.name.endswith('/interaction')]
            return reports[-1] if reports else {}
        assert g.spin_until(lambda: latest().get('dropped_FacesFrame') == '2', timeout=5), latest()
        values = latest()
        assert values['language_ko'].endswith('speech heard')
        assert 'screen only' in values['language_km']


def test_without_a_backend_a_question_gets_the_canned_answer_in_the_visitors_language():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        requests = g.listen_messages(SpeakRequest)
        conversations = g.listen_messages(ConversationStarted)
        cancels = g.listen_messages(CancelSpeech)
        screen = g.listen_messages(ScreenCard)
        g.wait_for_subscribers(g.typed_publisher(FacesFrame))
        g.wait_for_subscribers(g.typed_publisher(TypedQuestion))
        g.wait_for_subscribers(g.typed_publisher(SpeechEvent))
        g.wait_until_heard(node.advertise(SpeakRequest), node.advertise(ConversationStarted))
        g.send(faces(1.0, ('f0001', 1.5, True)))
        assert g.spin_until(lambda: len(requests) >= 1)
        # The greeting is spoken: the robot starts listening to f0001, a new conversation.
        for request in requests:
            for kind in ('utterance_started', 'utterance_finished'):
                g.send(SpeechEvent(t=1.2, type=kind, id=request.id, language=request.language))
        assert g.spin_until(lambda: conversations)
        assert [(c.visitor, c.expected) for c in conversations] == [('f0001', ['en'])]   # priors for asr
        g.send(TypedQuestion(text='Nhà vệ sinh ở đâu vậy?'))
        assert g.spin_until(lambda: any(r.tag.purpose == 'answer' for r in requests))
        answer = [r for r in requests if r.tag.purpose == 'answer'][0]
        assert answer.language == 'vi' and answer.tag.source == 'canned'
        assert answer.text.startswith(node.phrase('handoff_failed', 'vi'))
        assert node.counters['assistant_canned_replies'] == 1
        assert g.spin_until(lambda: screen[-1].kind == 'answer')
        assert screen[-1].text == node.phrasebook.canned_answer('vi')           # said: its spoken form
        assert screen[-1].actions[0].type == 'offer_call_staff'
        # Touch barge-in: a question tapped while the answer plays stops it at once.
        g.send(SpeechEvent(t=2.0, type='utterance_started', id=answer.id, language='vi', duration_s=5.0))
        g.send(TypedQuestion(text='Nhà hàng ở đâu?', language='vi', via='tap'))
        assert g.spin_until(lambda: any(c.id == answer.id for c in cancels))
        assert g.spin_until(lambda: len([r for r in requests if r.tag.purpose == 'answer']) == 2)
        assert node.pending_work() == 0


def test_the_visitors_voice_over_the_greeting_stops_it_and_they_are_answered():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        requests = g.listen_messages(SpeakRequest)
        cancels = g.listen_messages(CancelSpeech)
        interaction_events = g.listen_messages(InteractionEvent)
        for model in (FacesFrame, SpeechEvent, BargeIn, HeardSpeech):
            g.wait_for_subscribers(g.typed_publisher(model))
        g.wait_until_heard(node.advertise(SpeakRequest), node.advertise(CancelSpeech), node.advertise(InteractionEvent))
        g.send(BargeIn(t=0.5, fired_t=0.6, level_dbfs=-30.0))                # nobody here: counted, nothing said
        assert g.spin_until(lambda: node.counters['barge_in_ignored'] == 1)
        g.send(faces(1.0, ('f0001', 1.5, True)))
        assert g.spin_until(lambda: requests)
        [hello] = requests
        g.send(SpeechEvent(t=1.1, type='utterance_started', id=hello.id, language='en', duration_s=1.5))
        assert g.spin_until(lambda: any(e.type == 'greeting_started' for e in interaction_events))
        g.send(BargeIn(t=1.3, fired_t=1.45, level_dbfs=-28.0))
        assert g.spin_until(lambda: cancels and any(e.type == 'barge_in' for e in interaction_events))
        assert [c.id for c in cancels] == [hello.id]
        [note] = [e for e in interaction_events if e.type == 'barge_in']
        assert note.visitor == 'f0001' and note.utterance == hello.id and 'greeting' in note.detail
        assert g.spin_until(lambda: any(e.type == 'listening_started' for e in interaction_events))
        g.send(HeardSpeech(text='Where is the toilet?', language='en', final=True, confidence=0.9, engine='whisper'))
        assert g.spin_until(lambda: any(r.tag.purpose == 'answer' for r in requests))
        assert node.counters['events_barge_in'] == 1 and node.counters['barge_in_ignored'] == 1
