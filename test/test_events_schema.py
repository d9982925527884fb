"""The JSON message schema: good messages pass, every kind of bad one is refused with a clear error."""
import pytest

from caexpo_robot import events


def test_round_trip_keeps_non_ascii_text_readable():
    data = events.encode('tts_request', {'text': 'สวัสดีค่ะ', 'language': 'th', 'priority': 2})
    assert 'สวัสดีค่ะ' in data
    assert events.decode('tts_request', data)['text'] == 'สวัสดีค่ะ'


@pytest.mark.parametrize('kind,message,error', [
    ('tts_request', {'language': 'en'}, "missing field 'text'"),
    ('tts_request', {'text': 'hi', 'language': 'en', 'colour': 'red'}, "unknown field 'colour'"),
    ('tts_request', {'text': 'hi', 'language': 'en', 'priority': 'high'}, "'priority' has type str"),
    ('tts_request', {'text': 'hi', 'language': 'en', 'priority': True}, 'boolean'),
    ('interaction_event', {'t': 1.0, 'type': 'visitor_teleported'}, 'unknown type'),
    ('interaction_event', {'t': float('nan'), 'type': 'visitor_left'}, 'not a finite number'),
    ('faces', [], 'expected a JSON object'),
    ('nonsense', {}, 'unknown message kind'),
])
def test_bad_messages_are_refused_with_a_clear_reason(kind, message, error):
    with pytest.raises(events.EventError, match=error):
        events.validate(kind, message)


@pytest.mark.parametrize('data', ['', '{', 'null', '[1, 2]', '{"text": 5, "language": "en"}'])
def test_undecodable_json_is_an_event_error(data):
    with pytest.raises(events.EventError):
        events.decode('tts_request', data)
