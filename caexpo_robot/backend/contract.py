"""The robot<->assistant contract (/v1): the one definition of what the robot sends and reads.

The robot's client validates every reply with these models (a reply that does not validate is a
failed turn), and the reference assistant (caexpo_assistant) builds its routes and its OpenAPI
document from the same classes, so the two cannot drift apart. Pure: pydantic only, no HTTP, no rclpy.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field

from caexpo_robot.language.languages import LANGUAGES

API_VERSION = '1.0.0'
MAX_TEXT_CHARS = 500  # the limit on a turn's `text`; the client truncates longer utterances

Language = Literal[LANGUAGES]  # type: ignore[valid-type]
Identifier = Annotated[str, Field(pattern=r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
                                  description='letters, digits, ".", "_" and "-" (max 64)')]
# Names a robot reads out or shows: no markup, no control characters.
PlainText = Annotated[str, Field(min_length=1, max_length=120, pattern=r'^[^<>\x00-\x1f\x7f]+$')]

INTENTS = ('faq', 'directions', 'matchmaking', 'meeting_slots', 'meeting_booked', 'meeting_taken',
           'meeting_cancelled', 'events', 'call_staff', 'goodbye', 'unknown')
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


class Action(BaseModel):
    """Something for the robot to show or offer; fields beyond `type` depend on the type."""
    model_config = ConfigDict(extra='allow')
    type: Literal[ACTION_TYPES]  # type: ignore[valid-type]


class TurnOut(BaseModel):
    turn_id: str
    session_id: str
    reply: str = Field(min_length=1, pattern=r'\S', description='the answer in the visitor\'s language, ready for TTS')
    language: Language
    intent: Literal[INTENTS]  # type: ignore[valid-type]
    actions: list[Action]
    end_session: bool
