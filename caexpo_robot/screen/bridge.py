"""The screen's pure core (no rclpy, no web server): typed ROS messages -> page frames, page frames ->
typed ROS messages, with the checks of docs/screen.md ("WebSocket protocol").

Every frame from the page is refused unless it is small (`max_frame_bytes`), within the connection's rate
(`max_frames_per_s`, a token bucket with a burst of one second) and a valid frame (a pydantic discriminated
union: strict types, no unknown fields). A refusal is a counted drop (`dropped_<reason>`), never an
exception; a connection that keeps flooding (`flood_close_frames` refused for rate within
`FLOOD_WINDOW_S`) is told to close. Thread-safe: ROS callbacks and the server's event loop both call in.

Nothing typed or heard is written anywhere: the only memory is the current card, the speaking state and
the current conversation's last captions (cleared when the card returns to `attract`).
"""
from __future__ import annotations

import io
import json
import re
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Callable, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook, PlaceholderError
from caexpo_robot.messages import (
    HearableLanguages,
    HeardSpeech,
    LanguageChosen,
    Message,
    ScreenCard,
    ScreenText,
    SpeechEvent,
    TypedQuestion,
)

PROTOCOL_VERSION = 1
MAX_FRAME_BYTES = 4096
MAX_FRAMES_PER_S = 10.0
FLOOD_CLOSE_FRAMES = 50          # frames refused for rate within FLOOD_WINDOW_S: the connection is closed
FLOOD_WINDOW_S = 5.0
PHRASE_PREFIXES = ('screen_', 'quick_')
BOOKING_KEY = 'book_slot'        # "I'd like to book the meeting at {time}." in each language
TEMPLATE_VALUES = ('time', 'name', 'hall')   # placeholders the page may fill
BOOKING_FALLBACK = 'I would like to book the meeting at {time}.'   # until the phrasebook has BOOKING_KEY
MAX_CAPTIONS = 20                # the current conversation's captions replayed to a page that (re)connects
# A booking code as the assistant makes it (hex), or any short id: the only text a QR code is made of.
CODE_PATTERN = re.compile(r'^[A-Za-z0-9_-]{1,64}$')
_ID = r'^[A-Za-z0-9_.:-]{1,128}$'
_NO_CONTROL = r'^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$'   # typed text: tab and newlines only
Language = Literal[LANGUAGES]


# --- frames from the page ---------------------------------------------------------------------------
class PageFrame(BaseModel):
    model_config = ConfigDict(extra='forbid', strict=True, allow_inf_nan=False, frozen=True)


class ChooseLanguage(PageFrame):
    type: Literal['choose_language']
    language: Language


class Ask(PageFrame):
    type: Literal['ask']
    text: Annotated[str, Field(min_length=1, max_length=2000, pattern=_NO_CONTROL)]
    language: Language | None = None


class Quick(PageFrame):
    type: Literal['quick']
    key: Annotated[str, Field(pattern=r'^quick_[a-z0-9_]{1,60}$')]
    language: Language | None = None


class Book(PageFrame):
    type: Literal['book']
    exhibitor_id: Annotated[str, Field(pattern=_ID)]
    day: Annotated[str, Field(pattern=r'^\d{4}-\d{2}-\d{2}$')]
    start: Annotated[str, Field(pattern=r'^([01]\d|2[0-3]):[0-5]\d$')]
    language: Language | None = None

    @field_validator('day')
    @classmethod
    def _real_day(cls, value: str) -> str:
        date.fromisoformat(value)      # ValueError (a refused frame) for 2026-02-30
        return value


Frame = Annotated[Union[ChooseLanguage, Ask, Quick, Book], Field(discriminator='type')]
FRAME = TypeAdapter(Frame)


def qr_svg(code: str) -> str:
    """A standalone SVG of a QR code of `code` (ValueError unless it matches CODE_PATTERN): made on the
    robot, from a code that can hold no markup."""
    if not isinstance(code, str) or not CODE_PATTERN.match(code):
        raise ValueError('a booking code is 1-64 letters, digits, _ or -')
    import segno
    out = io.BytesIO()
    segno.make(code, error='m').save(out, kind='svg', scale=8, border=2, dark='#000', light='#fff',
                                     xmldecl=False, title=code)
    return out.getvalue().decode('ascii')


# --- per connection ---------------------------------------------------------------------------------
@dataclass
class Connection:
    id: int
    rate: float
    tokens: float
    last: float
    refused: deque = field(default_factory=deque)   # times of frames refused for rate

    def allow(self, now: float) -> bool:
        """Token bucket: `rate` frames a second, a burst of one second's worth."""
        self.tokens = min(self.rate, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Inbound:
    """What one page frame gives: messages for ROS, frames back to that page, whether to close it."""
    messages: list[Message] = field(default_factory=list)
    replies: list[dict] = field(default_factory=list)
    close: bool = False
    dropped: str | None = None      # the drop reason, if refused


class ScreenBridge:
    def __init__(self, phrasebook: Phrasebook, *, max_frame_bytes: int = MAX_FRAME_BYTES,
                 max_frames_per_s: float = MAX_FRAMES_PER_S, flood_close_frames: int = FLOOD_CLOSE_FRAMES,
                 max_clients: int = 4, clock: Callable[[], float] = time.monotonic) -> None:
        self.phrasebook = phrasebook
        self.max_frame_bytes, self.max_frames_per_s = max_frame_bytes, max_frames_per_s
        self.flood_close_frames, self.max_clients, self.clock = flood_close_frames, max_clients, clock
        self.counters: Counter = Counter()
        self._lock = threading.Lock()
        self._next_id = 0
        self.connections: dict[int, Connection] = {}
        self.card: ScreenCard | None = None
        self.speaking = False
        self.hearable: list[str] = []
        self.captions: deque[dict] = deque(maxlen=MAX_CAPTIONS)
        keys = [key for key in phrasebook.keys() if key.startswith(PHRASE_PREFIXES) or key == BOOKING_KEY]
        self.quick_questions = [key for key in keys if key.startswith('quick_')]
        self.phrases = {code: _phrases(phrasebook, keys, code) for code in LANGUAGES}

    # --- connections ------------------------------------------------------------------------------------
    def connect(self) -> Connection | None:
        """A new page connection, or None (counted) when max_clients are connected."""
        with self._lock:
            if len(self.connections) >= self.max_clients:
                self.counters['refused_clients'] += 1
                return None
            self._next_id += 1
            conn = Connection(self._next_id, self.max_frames_per_s, self.max_frames_per_s, self.clock())
            self.connections[conn.id] = conn
            self.counters['connections'] += 1
            return conn

    def disconnect(self, conn: Connection) -> None:
        with self._lock:
            self.connections.pop(conn.id, None)

    @property
    def clients(self) -> int:
        return len(self.connections)

    def snapshot_counters(self) -> dict[str, int]:
        """A copy of the counters (the server's thread may be counting meanwhile)."""
        with self._lock:
            return dict(self.counters)

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counters[key] += n

    # --- to the page --------------------------------------------------------------------------------------
    def hello(self) -> dict:
        return {'type': 'hello', 'version': PROTOCOL_VERSION,
                'languages': [{'code': c, 'native_name': LANGUAGE_INFO[c].native_name,
                               'english_name': LANGUAGE_INFO[c].english_name, 'script': LANGUAGE_INFO[c].script}
                              for c in LANGUAGES],
                'phrases': self.phrases, 'quick_questions': self.quick_questions, 'hearable': list(self.hearable)}

    def snapshot(self) -> list[dict]:
        """Everything a page needs on connecting: hello, the current card (and its QR codes), the state,
        the current conversation's captions."""
        with self._lock:
            frames = [self.hello()]
            if self.card is not None:
                frames += self._card_frames(self.card)
            frames.append(self._state())
            frames += list(self.captions)
            return frames

    def on_card(self, card: ScreenCard) -> list[dict]:
        with self._lock:
            staff_before = self.card.staff if self.card is not None else None
            self.card = card
            if card.kind == 'attract':
                self.captions.clear()
            # The staff banner is part of the state frame (the page's top bar): sent when it changes.
            return self._card_frames(card) + ([self._state()] if card.staff != staff_before else [])

    def on_heard(self, heard: HeardSpeech) -> list[dict]:
        return self._caption('visitor', heard.text, heard.language, heard.final)

    def on_speech(self, event: SpeechEvent) -> list[dict]:
        if event.type != 'utterance_started' or not event.text:
            return []
        return self._caption('robot', event.text, event.language, True)

    def on_screen_text(self, text: ScreenText) -> list[dict]:
        return [{'type': 'screen_text', 'text': text.text, 'language': text.language}]

    def on_hearable(self, hearable: HearableLanguages) -> list[dict]:
        with self._lock:
            self.hearable = list(hearable.hearable)
            return [self.hello()]

    def on_speaking(self, speaking: bool) -> list[dict]:
        with self._lock:
            self.speaking = bool(speaking)
            return [self._state()]

    def _state(self) -> dict:
        # 'watching' / 'speaking': an operator watches the robot's view, or holds or speaks in the conversation
        return {'type': 'state', 'speaking': self.speaking, 'staff': self.card.staff if self.card is not None else None}

    def _caption(self, who: str, text: str, language: str | None, final: bool) -> list[dict]:
        frame = {'type': 'caption', 'who': who, 'text': text, 'language': language, 'final': final}
        with self._lock:
            if final:
                self.captions.append(frame)
        return [frame]

    def _card_frames(self, card: ScreenCard) -> list[dict]:
        frames = [{'type': 'card', **card.model_dump(mode='json')}]
        for action in card.actions:
            code = (action.model_extra or {}).get('code')
            if action.type == 'meeting_booked' and isinstance(code, str) and CODE_PATTERN.match(code):
                frames.append({'type': 'qr', 'for': code, 'svg': qr_svg(code)})
        return frames

    # --- from the page ------------------------------------------------------------------------------------
    def from_page(self, conn: Connection, data: str | bytes | None) -> Inbound:
        """One frame from the page: the messages it gives, or a counted drop."""
        now = self.clock()
        with self._lock:
            self.counters['frames_in'] += 1
            allowed = conn.allow(now)
            if not allowed:
                conn.refused.append(now)
                while conn.refused and conn.refused[0] < now - FLOOD_WINDOW_S:
                    conn.refused.popleft()
                close = len(conn.refused) >= self.flood_close_frames
                if close:
                    self.counters['closed_flooding'] += 1
                    conn.refused.clear()
        if not allowed:
            return self._drop('rate', close)
        if not isinstance(data, str):
            return self._drop('binary')
        if len(data.encode('utf-8', 'surrogatepass')) > self.max_frame_bytes:
            return self._drop('too_large')
        try:
            frame = FRAME.validate_json(data)
        except (ValidationError, ValueError, RecursionError):
            try:
                kind = json.loads(data).get('type')
            except Exception:   # noqa: BLE001 - anything unparseable is malformed
                kind = None
            known = kind in ('choose_language', 'ask', 'quick', 'book')
            return self._drop('invalid' if known else 'unknown' if isinstance(kind, str) else 'malformed')
        return self._to_ros(frame)

    def _drop(self, reason: str, close: bool = False) -> Inbound:
        self.count(f'dropped_{reason}')
        return Inbound(close=close, dropped=reason)

    def _to_ros(self, frame: PageFrame) -> Inbound:
        with self._lock:
            card = self.card
        visitor = card.visitor if card is not None and card.kind != 'attract' else None
        language = getattr(frame, 'language', None) or (card.language if card is not None else None)
        if isinstance(frame, ChooseLanguage):
            message: Message = LanguageChosen(language=frame.language, visitor=visitor)
        elif isinstance(frame, Ask):
            text = frame.text.strip()
            if not text:
                return self._drop('empty')
            message = TypedQuestion(text=text, language=frame.language, visitor=visitor, via='typed')
        elif isinstance(frame, Quick):
            if frame.key not in self.quick_questions:
                return self._drop('unknown_key')
            spoken = language or 'en'
            message = TypedQuestion(text=self.phrasebook.say(frame.key, spoken).text, language=spoken,
                                    visitor=visitor, via='tap')
        else:
            spoken = language or 'en'
            message = TypedQuestion(text=self.booking_sentence(spoken, frame.start), language=spoken,
                                    visitor=visitor, via='tap')
        self.count(f'accepted_{frame.type}')
        return Inbound(messages=[message])

    def booking_sentence(self, language: str, start: str) -> str:
        if BOOKING_KEY in self.phrasebook.keys():
            return self.phrasebook.say(BOOKING_KEY, language, time=start).text
        return BOOKING_FALLBACK.replace('{time}', start)


def _phrases(phrasebook: Phrasebook, keys: list[str], code: str) -> dict[str, str]:
    """The page's phrases in one language (English where it has none); a phrase with placeholders is
    sent as its template, `{time}` and all: the page fills it with plain text."""
    table = {}
    for key in keys:
        try:
            table[key] = phrasebook.say(key, code, **{name: '{' + name + '}' for name in TEMPLATE_VALUES}).text
        except PlaceholderError:
            continue
    return table


def frame_text(frame: dict[str, Any]) -> str:
    """A frame as the page receives it: compact JSON, non-ASCII text readable."""
    return json.dumps(frame, ensure_ascii=False, separators=(',', ':'))
