"""Chaos, bad input: every node class gets malformed payloads on every topic it subscribes, in a real
rclpy graph (test/ros_harness.py), and must stay alive.

For each case: the node counts it (a `dropped_*` counter goes up by exactly one), no exception escapes
a callback (an escaped one would leave the executor's spin_once; a contained one is counted as
`callback_errors_*` and fails the case too: containment is the last line, not the way to refuse input),
and afterwards the node still does its job with a good message. Classes of bad input:
- typed JSON topics: deep nesting (`'[' * 100000`), oversized, not JSON, other JSON values, NaN and
  infinities, wrong types in every field (nested ones too: `"engaged": "false"`), missing fields,
  unknown fields, other schema versions, unknown languages; the latched greeter/hearable_languages
  poisoned before the interaction node (re)starts;
- images: unknown encodings, zero and huge sizes with tiny data, short steps, truncated data,
  over-long frame ids, negative stamps; camera infos: inf, NaN, zero, negative and absurd focal
  lengths, zero and huge sizes;
- audio chunks: no or two layout dimensions, wrong labels and rates, odd byte counts, empty data;
- DDS below the node: a best-effort flood from another process (`lost_<topic>`) and a QoS mismatch
  (`incompatible_qos_<topic>`).
The total number of cases is printed (pytest -s) and kept in CASES for the README.
"""
from __future__ import annotations

import collections
import json
import math
import subprocess
import sys
import textwrap
from functools import partial

import pytest
from rclpy.parameter import Parameter
from rclpy.qos import QoSProfile, ReliabilityPolicy, qos_profile_sensor_data
from sensor_msgs.msg import CameraInfo, Image
from std_msgs.msg import Bool, MultiArrayDimension, String, UInt8MultiArray

from caexpo_robot.messages import (
    BargeIn,
    CancelSpeech,
    ConversationStarted,
    FacesFrame,
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    MessageError,
    SpeakRequest,
    SpeechEvent,
    TrackedFace,
    TypedQuestion,
    decode,
    encode,
)
from caexpo_robot.nodes.asr_node import AsrNode
from caexpo_robot.nodes.audio_msgs import PLAYBACK_QOS, PLAYBACK_TOPIC, audio_msg
from caexpo_robot.nodes.common import AUDIO, LATCHED, MESSAGE_QOS
from caexpo_robot.nodes.conversions import camera_info_msg, image_msg
from caexpo_robot.nodes.face_detector_node import FaceDetectorNode
from caexpo_robot.nodes.interaction_node import InteractionNode
from caexpo_robot.nodes.tts_node import TtsNode
from ros_harness import ros_graph

CASES: collections.Counter[str] = collections.Counter()   # node -> bad-input cases it survived
ACCEPTED: set[str] = set()   # extreme values the schemas let through (handled without an error)


def face(engaged=True, distance=1.5):
    return TrackedFace(id='f0001', x=0.4, y=0.3, w=0.1, h=0.1, score=0.9, distance_m=distance, facing=0.9,
                       confirmed=True, engaged=engaged)


GOOD = {
    FacesFrame: FacesFrame(stamp=1.0, frame_id='camera', width=640, height=480, faces=[face()], detect_ms=3.0),
    SpeechEvent: SpeechEvent(t=1.0, type='utterance_finished', id='nobody', language='en', duration_s=1.0),
    HeardSpeech: HeardSpeech(text='hello', language='en', final=True, t=1.0, confidence=0.9,
                             words=[{'word': 'hello', 'conf': 0.9}]),
    TypedQuestion: TypedQuestion(text='where is the food', language='en', visitor='f0001'),
    HearableLanguages: HearableLanguages(hearable=['en'], unavailable={'ko': 'missing'}),
    SpeakRequest: SpeakRequest(text='hello', language='en', id='u1', tag={'purpose': 'say', 'visitor': 'f1'}),
    CancelSpeech: CancelSpeech(id='u1', all=False, below_priority=2),
    ConversationStarted: ConversationStarted(t=1.0, visitor='f0001', language='en', expected=['zh', 'en']),
    BargeIn: BargeIn(t=1.0, fired_t=1.12, level_dbfs=-30.0),
    LanguageChosen: LanguageChosen(language='vi', visitor='f0001'),
}


def _wrong(value):
    """A value of another JSON type than `value`."""
    if isinstance(value, bool):
        return 'false'
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return {'0': value}
    return [value]


def _field_variants(obj: dict, where: str = ''):
    """(name, mutated dict) for every field of `obj` and of the objects nested in it."""
    for key, value in obj.items():
        if key == 'version':
            continue
        path = f'{where}{key}'
        yield f'{path}: wrong type', {**obj, key: _wrong(value)}
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            for special in (math.nan, math.inf, -math.inf, -1e308, 10**30):
                yield f'{path}: {special}', {**obj, key: special}
        if isinstance(value, str):
            yield f'{path}: 100k characters', {**obj, key: 'x' * 100_000}
        if key == 'language' or key == 'hearable':
            yield f'{path}: unknown language', {**obj, key: 'xx' if key == 'language' else ['xx']}
        if isinstance(value, dict):
            for name, inner in _field_variants(value, f'{path}.'):
                yield name, {**obj, key: inner}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for name, inner in _field_variants(value[0], f'{path}[0].'):
                yield name, {**obj, key: [inner]}
            yield f'{path}: 10k items', {**obj, key: value * 10_000}


def bad_payloads(good) -> list[tuple[str, str]]:
    """Malformed payloads derived from a good message: each must be refused at decoding."""
    fields = json.loads(encode(good))
    cases = [('deep list', '[' * 100_000), ('deep object', '{"a":' * 50_000), ('deep inside a valid field',
             encode(good)[:-1] + ', "x": ' + '[' * 100_000), ('oversized', json.dumps({**fields, 'x': 'y' * 300_000})),
             ('not JSON', 'hello'), ('empty', ''), ('truncated', encode(good)[:-1]), ('null', 'null'),
             ('a number', '42'), ('a string', '"x"'), ('a list', '[]'), ('an empty object', '{}' if any(
                 f.is_required() for f in type(good).model_fields.values()) else '{"zz": 1}'),
             ('unknown field', json.dumps({**fields, 'zz': 1})), ('version 2', json.dumps({**fields, 'version': 2})),
             ('version "1"', json.dumps({**fields, 'version': '1'})), ('NaN literal', '{"t": NaN}'),
             ('duplicate keys, the last wrong', encode(good)[:-1] + ', "version": 9}')]
    cases += [(name, json.dumps(mutated)) for name, mutated in _field_variants(fields)]
    required = [name for name, f in type(good).model_fields.items() if f.is_required()]
    cases += [(f'{name}: missing', json.dumps({k: v for k, v in fields.items() if k != name})) for name in required]
    return cases


def refused_by_decode(model, payload) -> bool:
    try:
        decode(model, payload)
    except MessageError:
        return True
    return False


def send_all(g, node, model, topic=None, one_at_a_time=False):
    """Every bad payload of `model` on its topic. What the schema refuses must be exactly one counted
    drop each; what it lets through (an extreme but well-formed value, e.g. a stamp of 1e30 s) must be
    handled without an exception. Returns (cases, accepted names)."""
    pub = g.publisher(topic or model.TOPIC, String, MESSAGE_QOS[model.QOS])
    g.wait_for_subscribers(pub)
    key = f'dropped_{model.__name__}'
    cases = bad_payloads(GOOD[model])
    before = node.counters[key]
    expected = 0
    accepted = []
    for k, (name, payload) in enumerate(cases):
        pub.publish(String(data=payload))
        if refused_by_decode(model, payload):
            expected += 1
        else:
            accepted.append(name)
        # A latched (depth 1) subscription keeps only the newest: wait for each there.
        if one_at_a_time or k % 20 == 19 or k == len(cases) - 1:
            assert g.spin_until(lambda n=expected: node.counters[key] - before == n, timeout=10), \
                f'{model.__name__} "{name}": {node.counters[key] - before} of {expected} dropped'
            assert not errors(node), f'{model.__name__} "{name}": {node.health.last_problem}'
    g.spin_for(0.2)
    assert node.counters[key] - before == expected
    assert not errors(node), errors(node)
    CASES[type(node).__name__] += len(cases)
    ACCEPTED.update(f'{model.__name__} {name}' for name in accepted)
    return len(cases), accepted


def errors(node):
    return {k: v for k, v in node.counters.items() if k.startswith('callback_errors')}


def test_interaction_survives_bad_payloads_on_every_topic():
    factory = partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        requests = g.listen_messages(SpeakRequest)
        for model in (FacesFrame, SpeechEvent, HeardSpeech, TypedQuestion, HearableLanguages, BargeIn,
                      LanguageChosen):
            send_all(g, node, model, one_at_a_time=model.QOS == 'latched')
        assert node.manager.hearable != {'xx'}
        # Alive: an engaged visitor is greeted.
        g.wait_for_subscribers(g.typed_publisher(FacesFrame))
        g.wait_until_heard(node.advertise(SpeakRequest))
        g.send(GOOD[FacesFrame])
        assert g.spin_until(lambda: any(r.tag.purpose == 'greeting' for r in requests))
        assert not errors(node)


def test_a_poisoned_latched_value_does_not_kill_the_interaction_node_when_it_restarts():
    """The latched greeter/hearable_languages held '[' * 100000: the interaction node died again on
    every restart. A restarted node (a new instance in the same graph) receives it, drops it, runs."""
    with ros_graph(partial(InteractionNode, parameter_overrides=[Parameter('opener_languages', value=['en'])])) as g:
        first = g.nodes[0]
        poison = g.publisher(HearableLanguages.TOPIC, String, LATCHED)
        g.wait_for_subscribers(poison)
        poison.publish(String(data='[' * 100_000))
        assert g.spin_until(lambda: first.counters['dropped_HearableLanguages'] == 1)
        restarted = InteractionNode(context=g.context, parameter_overrides=[
            Parameter('opener_languages', value=['en'])])
        g.executor.add_node(restarted)
        try:
            assert g.spin_until(lambda: restarted.counters['dropped_HearableLanguages'] == 1)
            requests = g.listen_messages(SpeakRequest)
            g.wait_for_subscribers(g.typed_publisher(FacesFrame), count=2)
            g.wait_until_heard(restarted.advertise(SpeakRequest))
            g.send(GOOD[FacesFrame])
            assert g.spin_until(lambda: any(r.tag.purpose == 'greeting' for r in requests))
            assert not errors(restarted) and not errors(first)
            CASES['InteractionNode'] += 1
        finally:
            g.executor.remove_node(restarted)
            restarted.close()
            restarted.destroy_node()


def test_tts_survives_bad_payloads_on_every_topic(tmp_path):
    factory = partial(TtsNode, parameter_overrides=[
        Parameter('audio_output', value='file'), Parameter('wav_dir', value=str(tmp_path))])
    with ros_graph(factory) as g:
        node = g.nodes[0]
        events = g.listen_messages(SpeechEvent)
        for model in (SpeakRequest, CancelSpeech):
            send_all(g, node, model)
        g.wait_for_subscribers(g.typed_publisher(SpeakRequest))
        g.wait_until_heard(node.advertise(SpeechEvent))
        g.send(SpeakRequest(text='still here', language='en', id='alive'))
        assert g.spin_until(lambda: any(e.id == 'alive' and e.type == 'utterance_finished' for e in events),
                            timeout=20)
        assert not errors(node)


def bad_audio() -> list[tuple[str, UInt8MultiArray]]:
    def chunk(dims, data=bytes(3200)):
        msg = UInt8MultiArray()
        msg.layout.dim = [MultiArrayDimension(label=label, size=size, stride=stride) for label, size, stride in dims]
        msg.data = data
        return msg
    return [('no dimension', chunk([])),
            ('two dimensions', chunk([('s16le_mono_16000hz', 1600, 3200), ('x', 1, 1)])),
            ('wrong label', chunk([('f32le_stereo_16000hz', 800, 3200)])),
            ('empty label', chunk([('', 1600, 3200)])),
            ('rate 0', chunk([('s16le_mono_0hz', 1600, 3200)])),
            ('rate 44100 (not a multiple of 16 kHz)', chunk([('s16le_mono_44100hz', 1600, 3200)])),
            ('absurd rate', chunk([('s16le_mono_99999999999999999999hz', 1600, 3200)])),
            ('odd byte count', chunk([('s16le_mono_16000hz', 1600, 3201)], bytes(3201))),
            ('empty data', chunk([('s16le_mono_16000hz', 0, 0)], b'')),
            ('label of 10k characters', chunk([('s16le_mono_' + '1' * 10_000 + 'hz', 1600, 3200)]))]


def test_asr_survives_bad_audio_and_bad_payloads():
    with ros_graph(AsrNode) as g:
        node = g.nodes[0]
        for model in (ConversationStarted, LanguageChosen, SpeechEvent):
            send_all(g, node, model)
        # The echo canceller's reference: every malformed one is a counted drop (a playback message needs
        # three dimensions: format, play time, utterance id).
        playback = g.publisher(PLAYBACK_TOPIC, UInt8MultiArray, PLAYBACK_QOS)
        g.wait_for_subscribers(playback)
        for k, (name, msg) in enumerate(bad_audio()):
            playback.publish(msg)
            assert g.spin_until(lambda k=k: node.counters['dropped_playback'] == k + 1, timeout=5), name
        CASES['AsrNode'] += len(bad_audio())
        audio = g.publisher('audio/chunks', UInt8MultiArray, AUDIO)
        g.wait_for_subscribers(audio)
        refused = 0

        def audio_drops():   # refused at the layout (the node) or at the samples (the engine's validator)
            return node.counters['dropped_audio'] + node.engine.validator.dropped + sum(errors(node).values())
        for name, msg in bad_audio():
            audio.publish(msg)
            assert g.spin_until(lambda n=refused: audio_drops() > n, timeout=5), name
            assert not errors(node), f'audio "{name}" raised in the callback: {node.health.last_problem}'
            refused += 1
        grammar = g.publisher('asr/grammar', String, MESSAGE_QOS['events'])
        g.wait_for_subscribers(grammar)
        for k, text in enumerate(['[' * 100_000, 'no such grammar', 'g' * 100_000]):
            grammar.publish(String(data=text))
            assert g.spin_until(lambda k=k: node.counters['dropped_grammar'] == k + 1, timeout=5), text[:20]
        speaking = g.publisher('tts/speaking', Bool, LATCHED)
        g.wait_for_subscribers(speaking)
        CASES['AsrNode'] += refused + 3
        # Alive: a good chunk is heard without a drop, a good conversation is counted.
        drops, conversations = audio_drops(), node.counters['conversations']   # (t = 1e30 was accepted)
        audio.publish(audio_msg(bytes(3200)))
        g.wait_for_subscribers(g.typed_publisher(ConversationStarted))
        g.send(GOOD[ConversationStarted])
        assert g.spin_until(lambda: node.counters['conversations'] == conversations + 1)
        g.spin_for(0.2)
        assert audio_drops() == drops
        assert not errors(node)


def bad_images() -> list[tuple[str, Image]]:
    def image(**fields):
        msg = Image(**{'height': 4, 'width': 4, 'encoding': 'rgb8', 'step': 12, 'data': bytes(48), **fields})
        return msg
    negative = image()
    negative.header.stamp.sec = -5
    long_id = image()
    long_id.header.frame_id = 'c' * 10_000
    return [('unknown encoding', image(encoding='16UC1')), ('empty encoding', image(encoding='')),
            ('zero size', image(height=0, width=0, step=0, data=b'')), ('zero width', image(width=0)),
            ('8000x8000 with 48 bytes', image(height=8000, width=8000, step=24000)),
            ('2^32-1 wide', image(width=2**32 - 1, step=2**32 - 1)),
            ('step shorter than a row', image(step=6)), ('step 0', image(step=0)),
            ('truncated data', image(data=bytes(47))), ('oversized data', image(data=bytes(4800))),
            ('mono8 with rgb step', image(encoding='mono8', data=bytes(48), step=3)),
            ('negative stamp', negative), ('frame id of 10k characters', long_id)]


def bad_camera_infos(width, height) -> list[tuple[str, CameraInfo]]:
    cases = []
    for name, index, value in [('fx inf', 0, math.inf), ('fx NaN', 0, math.nan), ('fx 0', 0, 0.0),
                               ('fx negative', 0, -500.0), ('fx 1e9', 0, 1e9), ('fx 1e-3', 0, 1e-3),
                               ('fx -inf', 0, -math.inf), ('cx NaN', 2, math.nan), ('fy inf', 4, math.inf)]:
        info = camera_info_msg(width, height, 60.0, Image().header.stamp, 'camera')
        info.k[index] = value
        cases.append((name, info))
    for name, size in [('zero size', (0, 0)), ('huge size', (100_000, 100_000)), ('zero height', (width, 0))]:
        info = camera_info_msg(width, height, 60.0, Image().header.stamp, 'camera')
        info.width, info.height = size
        cases.append((name, info))
    return cases


def test_face_detector_survives_bad_images_and_camera_infos():
    import numpy as np
    with ros_graph(FaceDetectorNode) as g:
        node = g.nodes[0]
        faces = g.listen(FacesFrame.TOPIC)
        images = g.publisher('camera/image_raw', Image, 10)
        infos = g.publisher('camera/camera_info', CameraInfo, 10)
        g.wait_for_subscribers(images)
        g.wait_for_subscribers(infos)
        g.wait_until_heard(node.advertise(FacesFrame))
        for name, msg in bad_camera_infos(640, 480):
            before = node.counters['dropped_camera_info']
            infos.publish(msg)
            assert g.spin_until(lambda b=before: node.counters['dropped_camera_info'] == b + 1, timeout=5), name
            CASES['FaceDetectorNode'] += 1
        for name, msg in bad_images():
            before = node.counters['dropped_image']
            images.publish(msg)   # one at a time: the image subscription keeps only the newest frames
            assert g.spin_until(lambda b=before: node.counters['dropped_image'] == b + 1, timeout=5), name
            CASES['FaceDetectorNode'] += 1
        assert node.pipeline.camera_fx is None and not errors(node)
        stamp = Image().header.stamp
        stamp.sec = 3
        images.publish(image_msg(np.full((480, 640, 3), 100, np.uint8), stamp, 'camera'))
        assert g.spin_until(lambda: faces)
        assert not errors(node)


def test_a_contained_bug_is_counted_and_the_node_carries_on():
    """A callback that raises (here a bug planted in the tts node's request handler) used to end the
    process; now it is counted and the next message is handled."""
    from caexpo_robot.nodes.common import CaexpoNode

    class Buggy(CaexpoNode):
        def __init__(self, **kwargs):
            super().__init__('buggy', **kwargs)
            self.seen = []
            self.subscribe(SpeakRequest, self.on_request)
            self.create_timer(0.05, self.on_tick)

        def on_request(self, request):
            if request.text == 'deep':
                def down(n):
                    return down(n + 1)
                down(0)                        # RecursionError
            self.seen.append(request.text)

        def on_tick(self):
            raise KeyError('a timer bug')
    with ros_graph(Buggy) as g:
        node = g.nodes[0]
        g.wait_for_subscribers(g.typed_publisher(SpeakRequest))
        for text in ('deep', 'fine', 'deep', 'still fine'):
            g.send(SpeakRequest(text=text, language='en'))
        assert g.spin_until(lambda: node.seen == ['fine', 'still fine'])
        assert node.counters['callback_errors_subscription'] == 2
        assert g.spin_until(lambda: node.counters['callback_errors_timer'] >= 3)
        CASES['CaexpoNode (planted bugs)'] += 3


FLOOD = textwrap.dedent('''
    import sys, time, rclpy
    from rclpy.qos import qos_profile_sensor_data
    from sensor_msgs.msg import Image
    rclpy.init()
    node = rclpy.create_node('flood')
    pub = node.create_publisher(Image, 'camera/image_raw', qos_profile_sensor_data)
    deadline = time.monotonic() + 10
    while pub.get_subscription_count() < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    frame = Image(width=1000, height=1000, encoding='rgb8', step=3000, data=bytes(3_000_000))
    for _ in range(int(sys.argv[1])):
        pub.publish(frame)
    time.sleep(1.0)
''')


def test_messages_lost_below_the_node_are_counted():
    """A best-effort flood of 3 MB frames from another process, faster than the detector takes them:
    Fast DDS reports the samples it lost (SAMPLE_LOST, rmw's message_lost event) as lost_<topic>."""
    import time
    with ros_graph(partial(FaceDetectorNode, parameter_overrides=[Parameter('max_image_pixels', value=100)])) as g:
        node = g.nodes[0]
        # A slow subscriber: every frame (dropped as too large, cheaply) also costs it 20 ms.
        original = node.on_image

        def slow(msg):
            time.sleep(0.02)
            original(msg)
        node.on_image = slow
        flood = subprocess.Popen([sys.executable, '-c', FLOOD, '300'])
        try:
            g.spin_until(lambda: flood.poll() is not None, timeout=60)
            g.spin_for(0.5)
        finally:
            flood.kill()
            flood.wait()
        lost = node.counters['lost_camera/image_raw']
        print(f'\nDDS loss: {lost} of 300 frames reported lost, {node.counters["dropped_image"]} taken and dropped')
        assert lost > 0
        assert not errors(node)


def test_an_incompatible_qos_peer_is_counted_on_both_sides():
    """A reliable subscription never hears a best-effort publisher: both ends count it."""
    with ros_graph(InteractionNode) as g:
        node = g.nodes[0]
        publisher = g.publisher(FacesFrame.TOPIC, String, qos_profile_sensor_data)
        reliable = QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)
        assert MESSAGE_QOS[FacesFrame.QOS].reliability == reliable.reliability
        assert g.spin_until(lambda: node.counters['incompatible_qos_greeter/faces'] >= 1)
        assert g.spin_until(lambda: g.probe.counters['incompatible_qos_greeter/faces'] >= 1)
        assert publisher.get_subscription_count() == 0


def test_zz_total_cases():
    """Printed for the README's reliability section (run with -s)."""
    total = sum(CASES.values())
    print(f'\nbad-input cases: {total} ({", ".join(f"{k} {v}" for k, v in sorted(CASES.items()))}); '
          f'node deaths: 0; well-formed extremes the schemas accept: {len(ACCEPTED)}: {sorted(ACCEPTED)}')
    if len(CASES) < 4:
        pytest.skip('run the whole file for the total')
