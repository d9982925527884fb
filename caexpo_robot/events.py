"""The one schema for every JSON message the robot exchanges in std_msgs/String.

A single ament_python package cannot ship .msg files, so structured messages travel as JSON. Each kind
below lists its required and optional fields with their types; `encode` refuses a bad message before it
is published and `decode` refuses a bad one on arrival, both with a clear `EventError`.
"""
from __future__ import annotations

import json
import math
from typing import Any

NUMBER = (int, float)
OPTIONAL_STR = (str, type(None))


class EventError(ValueError):
    """A JSON message that does not follow the schema."""


# kind -> (required {field: types}, optional {field: types})
SCHEMAS: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    # humans/faces/tracked: every frame, the tracked faces (REP 155 name; JSON since hri_msgs is unavailable).
    'faces': (
        {'stamp': NUMBER, 'frame_id': str, 'width': int, 'height': int, 'faces': list},
        {'detect_ms': NUMBER, 'process_ms': NUMBER},
    ),
    # tts/say: a request to speak.
    'tts_request': (
        {'text': str, 'language': str},
        {'id': str, 'priority': int, 'tag': dict, 'interrupt': bool},
    ),
    # tts/cancel: stop the current utterance and/or drop queued ones.
    'tts_cancel': (
        {},
        {'id': str, 'all': bool, 'below_priority': int},
    ),
    # tts/events: what the speech engine did with each request.
    'tts_event': (
        {'t': NUMBER, 'type': str, 'id': str},
        {'language': str, 'spoken_language': str, 'voice': OPTIONAL_STR, 'text': str,
         'screen_text': OPTIONAL_STR, 'fallback': OPTIONAL_STR, 'detail': str, 'duration_s': NUMBER,
         'wav': OPTIONAL_STR, 'tag': dict, 'reason': str, 'priority': int},
    ),
    # interaction/events: what the robot did with its visitors.
    'interaction_event': (
        {'t': NUMBER, 'type': str},
        {'visitor': OPTIONAL_STR, 'language': OPTIONAL_STR, 'text': OPTIONAL_STR, 'group': list,
         'distance_m': NUMBER, 'detail': str, 'intent': OPTIONAL_STR, 'source': str, 'actions': list,
         'confidence': NUMBER, 'utterance': str},
    ),
    # tts/screen_text: text for the robot's screen (languages without a voice, and captions).
    'screen_text': (
        {'text': str, 'language': str},
        {'id': str},
    ),
    # speech/languages (latched): the languages the asr node can hear (a loaded model), and why not the others.
    'speech_languages': (
        {'hearable': list},
        {'unavailable': dict},
    ),
    # kiosk/text: what a visitor typed on the robot's screen.
    'kiosk_text': (
        {'text': str},
        {'language': OPTIONAL_STR, 'visitor': OPTIONAL_STR},
    ),
    # speech/heard: a final (or partial) recognition result from the asr node.
    'asr_result': (
        {'text': str, 'language': str, 'final': bool},
        {'t': NUMBER, 'confidence': NUMBER, 'words': list, 'candidates': list, 'start': NUMBER,
         'end': NUMBER},
    ),
}

TTS_EVENT_TYPES = ('utterance_started', 'utterance_finished', 'utterance_cancelled', 'utterance_failed',
                   'utterance_dropped', 'screen_text')
INTERACTION_EVENT_TYPES = (
    'visitor_detected', 'visitor_engaged', 'visitor_disengaged', 'visitor_left',
    'greeting_started', 'greeting_finished', 'asked_to_wait', 'language_identified',
    'listening_started', 'utterance_heard', 'not_understood', 'question_sent', 'filler_started',
    'answer_started', 'answer_finished', 'staff_called', 'farewell_started', 'farewell_finished',
)
_TYPES = {'tts_event': TTS_EVENT_TYPES, 'interaction_event': INTERACTION_EVENT_TYPES}


def validate(kind: str, message: Any) -> dict:
    """Return the message if it follows the schema of `kind`; raise EventError saying what is wrong."""
    try:
        required, optional = SCHEMAS[kind]
    except KeyError:
        raise EventError(f'unknown message kind {kind!r}; known: {sorted(SCHEMAS)}') from None
    if not isinstance(message, dict):
        raise EventError(f'{kind}: expected a JSON object, got {type(message).__name__}')
    for field, types in required.items():
        if field not in message:
            raise EventError(f'{kind}: missing field {field!r}')
    for field, value in message.items():
        types = required.get(field, optional.get(field))
        if types is None:
            raise EventError(f'{kind}: unknown field {field!r}')
        if isinstance(value, bool) and types in (NUMBER, int):
            raise EventError(f'{kind}: field {field!r} must be a number, got a boolean')
        if not isinstance(value, types):
            raise EventError(f'{kind}: field {field!r} has type {type(value).__name__}')
        if isinstance(value, float) and not math.isfinite(value):
            raise EventError(f'{kind}: field {field!r} is not a finite number')
    allowed = _TYPES.get(kind)
    if allowed and message['type'] not in allowed:
        raise EventError(f'{kind}: unknown type {message["type"]!r}')
    return message


def encode(kind: str, message: dict) -> str:
    """Validate and serialise; non-ASCII text stays readable (Thai, Khmer, Hanzi...)."""
    return json.dumps(validate(kind, message), ensure_ascii=False, separators=(',', ':'))


def decode(kind: str, data: str) -> dict:
    """Parse and validate a received JSON message."""
    try:
        message = json.loads(data)
    except (TypeError, ValueError) as exc:
        raise EventError(f'{kind}: not valid JSON ({exc})') from None
    return validate(kind, message)
