"""The interaction node with real topics: greeter/operator commands (as the telepresence node sends them) are
decoded in the one place, answered by one InteractionEvent each, and drive the conversation, the robot's
speech and the screen's staff banner."""
from functools import partial

from rclpy.parameter import Parameter
from std_msgs.msg import String

from caexpo_robot.messages import (
    FacesFrame,
    HeardSpeech,
    InteractionEvent,
    OperatorControl,
    ScreenCard,
    SpeakRequest,
    SpeechEvent,
    TrackedFace,
)
from caexpo_robot.nodes.interaction_node import InteractionNode
from ros_harness import ros_graph


def faces(t, *entries):
    return FacesFrame(stamp=t, frame_id='camera', width=640, height=480,
                      faces=[TrackedFace(id=i, x=0.4, y=0.3, w=0.1, h=0.1, score=0.9, distance_m=d, facing=0.9,
                                         confirmed=True, engaged=e) for i, d, e in entries])


def test_an_operator_takes_over_speaks_and_hands_back_through_the_node():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        requests = g.listen_messages(SpeakRequest)
        events = g.listen_messages(InteractionEvent)
        screen = g.listen_messages(ScreenCard)
        raw = g.publisher(OperatorControl.TOPIC)
        for model in (FacesFrame, SpeechEvent, HeardSpeech, OperatorControl):
            g.wait_for_subscribers(g.typed_publisher(model))
        g.wait_for_subscribers(raw)
        g.wait_until_heard(node.advertise(SpeakRequest), node.advertise(InteractionEvent), node.advertise(ScreenCard))

        def answered(command_id):
            return next((e for e in events if e.utterance == command_id), None)

        raw.publish(String(data='{"t": 1, "command": "format_disk", "command_id": "x", "operator": "eve"}'))
        assert g.spin_until(lambda: node.counters['dropped_OperatorControl'] == 1)   # refused, counted

        g.send(OperatorControl(t=1.0, command='watch', command_id='c1', operator='lan', watching=True))
        assert g.spin_until(lambda: answered('c1'))
        assert answered('c1').type == 'operator_watch'
        assert g.spin_until(lambda: screen and screen[-1].staff == 'watching')
        g.send(faces(1.0, ('f0001', 1.5, True)))
        assert g.spin_until(lambda: requests)
        for request in list(requests):
            for kind in ('utterance_started', 'utterance_finished'):
                g.send(SpeechEvent(t=1.2, type=kind, id=request.id, language=request.language))
        assert g.spin_until(lambda: any(e.type == 'listening_started' for e in events))

        g.send(OperatorControl(t=2.0, command='take_over', command_id='c2', operator='lan'))
        g.send(OperatorControl(t=2.0, command='take_over', command_id='c3', operator='minh'))
        assert g.spin_until(lambda: answered('c2') and answered('c3'))
        assert answered('c2').type == 'operator_took_over'
        assert (answered('c3').type, answered('c3').detail) == ('operator_refused', 'held by lan')
        assert g.spin_until(lambda: screen[-1].staff == 'speaking')

        g.send(HeardSpeech(text='Where is hall 5?', language='en', final=True, confidence=0.9))
        assert g.spin_until(lambda: any(e.type == 'utterance_heard' for e in events))
        heard = [e for e in events if e.type == 'utterance_heard'][-1]
        assert heard.text == 'Where is hall 5?' and 'lan' in heard.detail
        # The heard event is published from the same callback that would have asked: nobody was asked.
        assert node.counters['assistant_canned_replies'] == 0
        assert not any(r.tag.purpose in ('answer', 'filler') for r in requests)

        g.send(OperatorControl(t=3.0, command='say', command_id='c4', operator='lan', text='Hall 5 is on your left.'))
        assert g.spin_until(lambda: answered('c4') and any(r.tag.purpose == 'operator' for r in requests))
        said = [r for r in requests if r.tag.purpose == 'operator'][-1]
        assert (said.text, said.language, said.priority) == ('Hall 5 is on your left.', 'en', 2)
        assert answered('c4').type == 'operator_said'
        assert g.spin_until(lambda: screen[-1].kind == 'answer' and screen[-1].text == said.text)

        g.send(OperatorControl(t=4.0, command='hand_back', command_id='c5', operator='lan'))
        assert g.spin_until(lambda: answered('c5'))
        assert answered('c5').type == 'operator_handed_back'
        g.send(HeardSpeech(text='And the toilets?', language='en', final=True, confidence=0.9))
        assert g.spin_until(lambda: any(r.tag.purpose == 'answer' for r in requests))   # the assistant again
        assert node.counters['assistant_canned_replies'] == 1
        # The canned answer promises a staff member: the operators are told, once.
        assert g.spin_until(lambda: any(e.type == 'staff_requested' for e in events))
