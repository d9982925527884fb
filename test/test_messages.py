"""The typed messages: good payloads pass, every kind of bad one is refused with a clear reason, and the
JSON Schemas published in docs/messages/ are the models' own."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from caexpo_robot import messages
from caexpo_robot.messages import (
    MESSAGES,
    FacesFrame,
    HearableLanguages,
    InteractionEvent,
    MessageError,
    SpeakRequest,
    SpeechEvent,
    decode,
    encode,
)

DOCS = Path(__file__).resolve().parent.parent / 'docs' / 'messages'
FACE = {'id': 'f1', 'x': 0.1, 'y': 0.2, 'w': 0.1, 'h': 0.15, 'score': 0.9, 'distance_m': 1.4, 'facing': 0.8,
        'confirmed': True, 'engaged': True}
FRAME = {'stamp': 1.5, 'frame_id': 'camera', 'width': 640, 'height': 480, 'faces': [FACE]}


def test_round_trip_keeps_non_ascii_text_readable_and_carries_the_version():
    data = encode(SpeakRequest(text='สวัสดีค่ะ', language='th', priority=2))
    assert 'สวัสดีค่ะ' in data
    assert json.loads(data)['version'] == messages.SCHEMA_VERSION
    assert decode(SpeakRequest, data).text == 'สวัสดีค่ะ'


def test_nested_faces_are_models_with_typed_fields():
    frame = decode(FacesFrame, json.dumps(FRAME))
    assert frame.faces[0].engaged is True and frame.faces[0].distance_m == 1.4


@pytest.mark.parametrize('model,payload,error', [
    (SpeakRequest, {'language': 'en'}, 'text: Field required'),
    (SpeakRequest, {'text': 'hi', 'language': 'en', 'colour': 'red'}, 'colour: Extra inputs'),
    (SpeakRequest, {'text': 'hi', 'language': 'en', 'priority': 'high'}, 'priority'),
    (SpeakRequest, {'text': 'hi', 'language': 'en', 'priority': True}, 'priority'),
    (SpeakRequest, {'text': 'hi', 'language': 'xx'}, 'language'),
    (SpeakRequest, {'text': 'hi', 'language': 'en', 'version': 2}, 'version'),
    (InteractionEvent, {'t': 1.0, 'type': 'visitor_teleported'}, 'type'),
    (FacesFrame, {**FRAME, 'faces': [{**FACE, 'engaged': 'false'}]}, 'faces.0.engaged'),
    (FacesFrame, {**FRAME, 'faces': [{**FACE, 'distance_m': -1}]}, 'faces.0.distance_m'),
    (FacesFrame, {**FRAME, 'faces': [{k: v for k, v in FACE.items() if k != 'id'}]}, 'faces.0.id'),
    (FacesFrame, {**FRAME, 'faces': {'a': 1}}, 'faces'),
    (FacesFrame, [], 'FacesFrame'),
    (HearableLanguages, {'hearable': ['ko', 'klingon']}, 'hearable.1'),
])
def test_bad_messages_are_refused_naming_the_field(model, payload, error):
    with pytest.raises(MessageError, match=error):
        decode(model, json.dumps(payload))


@pytest.mark.parametrize('data', ['', '{', 'null', '[1, 2]', '{"text": 5, "language": "en"}',
                                  '{"text": "hi", "language": "en", "priority": NaN}',
                                  '{"t": Infinity, "type": "visitor_left"}'])
def test_undecodable_or_non_finite_json_is_a_message_error(data):
    with pytest.raises(MessageError):
        decode(SpeakRequest, data)


def test_deep_nesting_and_oversized_payloads_are_refused_before_they_can_hurt():
    with pytest.raises(MessageError, match='recursion'):
        decode(InteractionEvent, '[' * 100_000)
    with pytest.raises(MessageError, match='bytes is more than'):
        decode(SpeakRequest, json.dumps({'text': 'x' * (messages.MAX_PAYLOAD_BYTES + 1), 'language': 'en'}))


def test_every_model_has_its_own_topic_under_the_robot_namespace():
    topics = [model.TOPIC for model in MESSAGES]
    assert len(set(topics)) == len(topics)
    # REP 155 (ROS4HRI) owns /humans/...: never reuse one of its names with another type.
    assert all(topic.startswith('greeter/') for topic in topics), topics


def test_speech_events_leave_unset_fields_out():
    data = json.loads(encode(SpeechEvent(t=1.0, type='utterance_started', id='u1', language='vi')))
    assert 'wav' not in data and data['tag'] == {'purpose': 'say'}


def test_published_schemas_match_the_models():
    """docs/messages/ is regenerated with `python -m caexpo_robot.messages docs/messages`."""
    expected = messages.json_schemas()
    assert sorted(p.name for p in DOCS.glob('*.schema.json')) == sorted(expected)
    for name, schema in expected.items():
        assert (DOCS / name).read_text(encoding='utf-8') == messages.schema_text(schema), \
            f'docs/messages/{name} is stale: run python -m caexpo_robot.messages docs/messages'


def test_messages_and_node_health_need_no_rclpy():
    code = ('import sys, caexpo_robot.messages, caexpo_robot.health; '
            'assert "rclpy" not in sys.modules, "rclpy imported"')
    subprocess.run([sys.executable, '-c', code], check=True)


def test_the_readme_message_table_is_made_from_the_models():
    readme = (DOCS.parent.parent / 'README.md').read_text(encoding='utf-8')
    assert messages.markdown_table() in readme, \
        'README message table is stale: paste the output of python -m caexpo_robot.messages --table'
