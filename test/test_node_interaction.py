"""interaction node with real topics: faces in, greeting requests and events out; languages in diagnostics."""
import json
from functools import partial

from diagnostic_msgs.msg import DiagnosticArray
from rclpy.parameter import Parameter
from std_msgs.msg import String

from caexpo_robot import events
from caexpo_robot.nodes.common import LATCHED
from caexpo_robot.nodes.interaction_node import InteractionNode
from ros_harness import ros_graph


def faces(t, *entries):
    return String(data=events.encode('faces', {'stamp': t, 'frame_id': 'camera', 'width': 640, 'height': 480,
                                               'faces': [dict(id=i, x=0.4, y=0.3, w=0.1, h=0.1, score=0.9,
                                                              distance_m=d, facing=0.9, confirmed=True, engaged=e)
                                                         for i, d, e in entries]}))


def test_engaged_face_is_greeted_and_bad_messages_are_counted():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['vi', 'en'])])
    with ros_graph(factory) as g:
        says = g.listen('tts/say')
        interaction_events = g.listen('interaction/events')
        diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
        faces_pub = g.publisher('humans/faces/tracked')
        languages_pub = g.publisher('speech/languages', qos=LATCHED)
        g.wait_for_subscribers(faces_pub)
        g.wait_until_heard(g.nodes[0].say_pub, g.nodes[0].events_pub)
        languages_pub.publish(String(data=events.encode('speech_languages', {'hearable': ['ko']})))
        node = g.nodes[0]
        assert g.spin_until(lambda: node.manager.hearable == {'ko'})

        faces_pub.publish(String(data='{"stamp": 1}'))                  # missing fields
        faces_pub.publish(String(data='not json'))
        assert g.spin_until(lambda: node.counters['dropped_faces'] == 2)

        faces_pub.publish(faces(1.0, ('f0001', 2.8, False)))
        faces_pub.publish(faces(1.1, ('f0001', 1.5, True)))
        assert g.spin_until(lambda: len(says) >= 4)
        requests = [json.loads(m.data) for m in says]
        assert [r['language'] for r in requests] == ['vi', 'en', 'en', 'en']
        assert requests[-1]['tag']['purpose'] == 'greeting'
        assert 'screen' in requests[-1]['text']              # English cannot be heard: "use the screen"
        kinds = [json.loads(m.data)['type'] for m in interaction_events]
        assert kinds[:2] == ['visitor_detected', 'visitor_engaged']
        def latest():   # diagnostics come at 1 Hz: wait for one published after all of the above
            reports = [{kv.key: kv.value for kv in s.values}
                       for d in diagnostics for s in d.status if s.name.endswith('/interaction')]
            return reports[-1] if reports else {}
        assert g.spin_until(lambda: latest().get('dropped_faces') == '2', timeout=5), latest()
        values = latest()
        assert values['language_ko'].endswith('speech heard')
        assert 'screen only' in values['language_km']


def test_without_a_backend_a_question_gets_the_canned_answer_in_the_visitors_language():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with ros_graph(factory) as g:
        says = g.listen('tts/say')
        faces_pub = g.publisher('humans/faces/tracked')
        kiosk = g.publisher('kiosk/text')
        g.wait_for_subscribers(faces_pub)
        g.wait_for_subscribers(kiosk)
        g.wait_until_heard(g.nodes[0].say_pub)
        faces_pub.publish(faces(1.0, ('f0001', 1.5, True)))
        assert g.spin_until(lambda: len(says) >= 3)
        kiosk.publish(String(data=events.encode('kiosk_text', {'text': 'Nhà vệ sinh ở đâu vậy?'})))
        assert g.spin_until(lambda: any(json.loads(m.data)['tag']['purpose'] == 'answer' for m in says))
        answer = [json.loads(m.data) for m in says if json.loads(m.data)['tag']['purpose'] == 'answer'][0]
        assert answer['language'] == 'vi' and answer['tag']['source'] == 'canned'
        assert answer['text'].startswith(g.nodes[0].phrase('handoff_failed', 'vi'))
        assert g.nodes[0].counters['assistant_canned_replies'] == 1
