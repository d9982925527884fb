"""The robot<->assistant contract (/v1): the one definition of what the robot sends and reads.

The robot's client validates every reply with these models (a reply that does not validate is a
failed turn), and the reference assistant (caexpo_assistant) builds its routes and its OpenAPI
document from the same classes, so the two cannot drift apart. Pure: pydantic only, no HTTP, no rclpy.
"""
from __future__ import annotations

import json
import re
from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.speaking.shorten import shorten

API_VERSION = '1.0.0'
MAX_TEXT_CHARS = 500  # the limit on a turn's `text`; the client truncates longer utterances
# Bounds on what the robot accepts back (a reply outside them is a failed turn): the answer's text fits a
# robot message (messages.py caps spoken text at 2,000 characters), the actions fit one screen.
MAX_REPLY_CHARS = 2000
MAX_ACTIONS = 20
MAX_ACTION_FIELDS = 32
MAX_ACTION_BYTES = 32 * 1024
MAX_ACTION_ITEMS = 100
# The spoken form of an answer: at most about 10 s of speech (the full text and the lists are on the
# screen). Characters per ~10 s with the robot's espeak-ng voices, measured per script: dense scripts
# (Hanzi, Hangul, Burmese) say fewer characters a second. Khmer and Lao have no voice (screen text).
SPOKEN_SECONDS = 10.0
# (about 7.5-9 s at the rates measured on the phrasebook's phrases and on list replies: en 13.3 chars/s,
# zh 3.2, ko 5.1-5.4, th 8.0-8.6; times, dates and numbers take longer to say than words, so the margin.)
SPOKEN_CHARS: dict[str, int] = {'vi': 104, 'th': 72, 'ms': 91, 'id': 88, 'fil': 94, 'my': 77, 'km': 90,
                                'lo': 75, 'zh': 30, 'en': 100, 'ko': 40}
MAX_SPOKEN_CHARS = 300

Language = Literal[LANGUAGES]  # type: ignore[valid-type]
Identifier = Annotated[str, Field(pattern=r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
                                  description='letters, digits, ".", "_" and "-" (max 64)')]
# Names a robot reads out or shows: no markup, no control characters.
PlainText = Annotated[str, Field(min_length=1, max_length=120, pattern=r'^[^<>\x00-\x1f\x7f]+$')]

# What a reply does. clarify: one short question when the visitor's words fit two functions; not_found:
# the thing asked about is not in the expo's data (never answered with directions as if it were);
# meeting_details: the visitor's name is asked before a booking; small_talk: a greeting or an insult.
INTENTS = ('faq', 'directions', 'matchmaking', 'meeting_slots', 'meeting_details', 'meeting_booked',
           'meeting_taken', 'meeting_cancelled', 'events', 'call_staff', 'goodbye', 'clarify', 'not_found',
           'small_talk', 'unknown')
ACTION_TYPES = ('show_map', 'show_exhibitors', 'offer_slots', 'meeting_booked', 'meeting_cancelled',
                'show_events', 'call_staff', 'offer_call_staff')
# What the robot does on its own when the backend gives no usable answer (the words come from the
# robot's phrasebook; this is the rest of that reply's shape).
FALLBACK_INTENT = 'fallback'
FALLBACK_ACTIONS: tuple[dict, ...] = ({'type': 'offer_call_staff'},)


class ErrorDetail(BaseModel):
    code: str = Field(description='machine-readable, e.g. invalid_request, slot_taken, unknown_session')
    message: str
    details: Optional[list[dict[str, Any]]] = None


class ErrorBody(BaseModel):
    error: ErrorDetail


class VisitorHints(BaseModel):
    name: Optional[PlainText] = None
    company: Optional[PlainText] = None
    contact: Optional[PlainText] = Field(None, description='phone or e-mail for meeting confirmations')


class SessionCreate(BaseModel):
    robot_id: Identifier
    entrance: Identifier = Field(description='the robot\'s entrance id from the venue seed, e.g. entrance_a')
    language: Language
    visitor: Optional[VisitorHints] = None


class SessionOut(BaseModel):
    session_id: str = Field(min_length=1)
    robot_id: str
    entrance: str
    language: Language
    created_at: str


class SessionEnded(BaseModel):
    session_id: str
    ended_at: str


class TurnIn(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS, pattern=r'^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$',
                      description='what the visitor said (ASR output)')
    language: Language
    visitor: Optional[VisitorHints] = None


_HHMM = re.compile(r'^([01]\d|2[0-3]):[0-5]\d$')
# What each action type must carry (field -> kind); every type may carry more (bounded in count and size).
ACTION_FIELDS: dict[str, dict[str, str]] = {
    'show_map': {'place': 'id'},
    'show_exhibitors': {'items': 'items'},
    'offer_slots': {'exhibitor_id': 'id', 'slots': 'times'},
    'meeting_booked': {'id': 'id', 'code': 'id', 'exhibitor_id': 'id', 'start': 'time'},
    'meeting_cancelled': {'id': 'id', 'code': 'id', 'exhibitor_id': 'id', 'start': 'time'},
    'show_events': {'items': 'items'},
    'call_staff': {'request_id': 'id'},
    'offer_call_staff': {},
}


def _field_problem(kind: str, value: Any) -> str | None:
    if kind == 'id':
        ok = isinstance(value, str) and 0 < len(value) <= 128
        return None if ok else 'a non-empty string of at most 128 characters'
    if kind == 'time':
        return None if isinstance(value, str) and _HHMM.match(value) else 'a time HH:MM'
    if kind == 'times':
        ok = isinstance(value, list) and len(value) <= MAX_ACTION_ITEMS and \
            all(isinstance(v, str) and _HHMM.match(v) for v in value)
        return None if ok else f'a list of at most {MAX_ACTION_ITEMS} times HH:MM'
    ok = isinstance(value, list) and len(value) <= MAX_ACTION_ITEMS and all(isinstance(v, dict) for v in value)
    return None if ok else f'a list of at most {MAX_ACTION_ITEMS} objects'


class Action(BaseModel):
    """Something for the robot to show or offer. Fields beyond `type` depend on the type; each type must
    carry: show_map place; show_exhibitors items (objects); offer_slots exhibitor_id, slots (HH:MM);
    meeting_booked and meeting_cancelled id, code, exhibitor_id, start (HH:MM); show_events items
    (objects); call_staff request_id. More fields are allowed: at most 32, 32 kB in all, lists of at
    most 100. An action outside these rules makes the whole reply malformed for the robot."""
    model_config = ConfigDict(extra='allow')
    type: Literal[ACTION_TYPES]  # type: ignore[valid-type]

    @model_validator(mode='after')
    def _well_formed(self) -> 'Action':
        extra = self.model_extra or {}
        if len(extra) > MAX_ACTION_FIELDS:
            raise ValueError(f'{self.type}: more than {MAX_ACTION_FIELDS} fields')
        for name, kind in ACTION_FIELDS[self.type].items():
            if name not in extra:
                raise ValueError(f'{self.type}: missing field {name!r}')
            problem = _field_problem(kind, extra[name])
            if problem:
                raise ValueError(f'{self.type}: field {name!r} must be {problem}')
        if len(json.dumps(extra, ensure_ascii=False, default=str)) > MAX_ACTION_BYTES:
            raise ValueError(f'{self.type}: more than {MAX_ACTION_BYTES} bytes of fields')
        return self


class TurnOut(BaseModel):
    turn_id: str
    session_id: str
    reply: str = Field(min_length=1, max_length=MAX_REPLY_CHARS, pattern=r'\S',
                       description='the answer in the visitor\'s language, ready for TTS')
    language: Language = Field(description='always the language the turn was asked in')
    intent: Literal[INTENTS]  # type: ignore[valid-type]
    topic: Optional[str] = Field(None, max_length=64, description='for intent faq: which question '
                                 '(hours, toilet, wifi, ...); for clarify: the functions it chooses between')
    actions: list[Action] = Field(max_length=MAX_ACTIONS)
    end_session: bool
    spoken: Optional[str] = Field(None, min_length=1, max_length=MAX_SPOKEN_CHARS, pattern=r'\S',
                                  description='the compact form the robot says (one or two sentences, '
                                  'lists: the top three); `reply` and the actions go to its screen. '
                                  'Absent: the robot says the first sentences of `reply` that fit ~10 s')


def spoken_form(text: str, language: str) -> str:
    """What the robot says of an answer with no spoken form: its first sentence(s) within about
    SPOKEN_SECONDS of speech in `language` (a sentence cut at a phrase break when even one is longer; the
    comma or colon it was cut at is not said)."""
    spoken = shorten(text, SPOKEN_CHARS.get(language, min(SPOKEN_CHARS.values())))
    return spoken.rstrip(' ,，、:：;；') or spoken
