"""tts node with real rclpy topics and real espeak-ng synthesis to WAV files."""
import json
import wave
from functools import partial

from rclpy.parameter import Parameter
from std_msgs.msg import Bool, String

from caexpo_robot import events
from caexpo_robot.nodes.common import LATCHED
from caexpo_robot.nodes.tts_node import TtsNode
from ros_harness import ros_graph


def say(pub, text, language, **extra):
    pub.publish(String(data=events.encode('tts_request', {'text': text, 'language': language, **extra})))


def test_speaks_in_order_reports_events_and_refuses_bad_requests(tmp_path):
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path)),
        Parameter('engine', value='espeak-ng')])
    with ros_graph(factory) as g:
        tts_events = g.listen('tts/events')
        speaking = g.listen('tts/speaking', Bool, LATCHED)   # the initial False is latched
        screen = g.listen('tts/screen_text')
        pub = g.publisher('tts/say')
        g.wait_for_subscribers(pub)
        node = g.nodes[0]
        g.wait_until_heard(node.events_pub, node.speaking_pub, node.screen_pub)

        def of_type(kind):
            return [json.loads(m.data) for m in tts_events if json.loads(m.data)['type'] == kind]

        # Bad requests: each is refused with a reason and an event, and the node keeps going.
        pub.publish(String(data='{not json'))
        say(pub, '   ', 'en', id='empty')
        say(pub, 'x' * 100_000, 'en', id='huge')
        say(pub, 'bonjour', 'fr', id='french')
        assert g.spin_until(lambda: len(of_type('utterance_dropped')) == 3)
        reasons = {e['id']: e['reason'] for e in of_type('utterance_dropped')}
        assert reasons['empty'] == 'empty text'
        assert 'max_chars' in reasons['huge']
        assert 'unknown language' in reasons['french']
        assert node.counters['dropped_request'] == 4

        say(pub, 'Welcome to the China ASEAN Expo.', 'en', id='first', tag={'purpose': 'greeting'})
        say(pub, 'Xin chào quý khách.', 'vi', id='second')
        say(pub, 'សូមស្វាគមន៍', 'km', id='khmer')
        assert g.spin_until(lambda: len(of_type('utterance_finished')) == 3, timeout=20)
        assert [e['id'] for e in of_type('utterance_started')] == ['first', 'second', 'khmer']
        first = of_type('utterance_finished')[0]
        with wave.open(first['wav']) as wav:
            assert abs(wav.getnframes() / wav.getframerate() - first['duration_s']) < 0.01
            assert first['duration_s'] > 1.0
        khmer = [e for e in of_type('utterance_started') if e['id'] == 'khmer'][0]
        assert khmer['fallback'] == 'screen_only' and khmer['spoken_language'] != 'km'
        assert [json.loads(m.data)['text'] for m in screen] == ['សូមស្វាគមន៍']
        assert [m.data for m in speaking][0] is False and any(m.data for m in speaking)
        assert g.spin_until(lambda: speaking[-1].data is False)


def test_cancel_and_interrupt(tmp_path):
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path))])
    with ros_graph(factory) as g:
        tts_events = g.listen('tts/events')
        pub = g.publisher('tts/say')
        cancel = g.publisher('tts/cancel')
        g.wait_for_subscribers(pub)
        g.wait_for_subscribers(cancel)
        g.wait_until_heard(g.nodes[0].events_pub)
        long_text = 'This is a long announcement about the opening ceremony and the forums. ' * 3
        say(pub, long_text, 'en', id='long', priority=1)
        say(pub, long_text, 'en', id='queued', priority=1)

        def ids(kind):
            return [json.loads(m.data)['id'] for m in tts_events if json.loads(m.data)['type'] == kind]
        assert g.spin_until(lambda: 'long' in ids('utterance_started'), timeout=10)
        cancel.publish(String(data=events.encode('tts_cancel', {'id': 'queued'})))
        say(pub, 'Excuse me!', 'en', id='urgent', priority=3, interrupt=True)
        assert g.spin_until(lambda: 'queued' in ids('utterance_cancelled'), timeout=5)
        assert g.spin_until(lambda: 'urgent' in ids('utterance_finished'), timeout=15)
        assert 'long' in ids('utterance_cancelled')
        assert 'queued' not in ids('utterance_started')
