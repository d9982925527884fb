"""The fleet's wire format (robots ⇄ console over Zenoh): versioned, signed, size-capped envelopes.

One envelope is one JSON object (UTF-8, at most MAX_ENVELOPE_BYTES):
    {"v": 1, "robot_id": "greeter-a", "sender": "robot"|"console", "boot": "<16 hex>", "seq": 17,
     "sent_at": 1796000000.123, "kind": "<kind>", "body": {...}, "sig": "<64 hex>"}
- `sig` is HMAC-SHA256 with that robot's key over the canonical JSON of every other field (sorted keys,
  no spaces, UTF-8). The same per-robot key signs both directions: each side proves it knows the key, and
  `sender` is signed, so a robot's own event replayed at it as a command is refused.
- `boot` is random per process start and `seq` grows within a boot: a receiver keeps the last `seq` per
  (robot, sender, boot) and refuses anything not newer; `sent_at` must be within `max_skew_s` of its clock,
  which bounds how long a receiver has to remember a boot.
- `body` is one strict pydantic model per `kind` (extra fields refused). Robots send EVENT_KINDS; the
  console sends COMMAND_KINDS, a closed allow-list: nothing else reaches a robot.

Pure (no Zenoh, no rclpy): the robot's telepresence node and the console both import it; link.py carries
the bytes. docs/fleet.md describes the format for other teams.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError, field_validator, model_validator

from caexpo_robot.messages import Id, Language, ScreenCardKind

PROTOCOL_VERSION = 1
MAX_ENVELOPE_BYTES = 256 * 1024
MAX_THUMBNAIL_JPEG_BYTES = 96 * 1024
MAX_TEXT_CHARS = 2000           # an utterance, a reply, an unanswered question
MAX_SAY_CHARS = 500             # what an operator types for the robot to say
MIN_KEY_BYTES = 32              # HMAC-SHA256 keys: at least the hash's own size
DEFAULT_MAX_SKEW_S = 30.0

ROBOT_ID_PATTERN = r'[a-z0-9][a-z0-9_-]{0,62}'
_ROBOT_ID_RE = re.compile(ROBOT_ID_PATTERN)
KEY_PREFIX = 'caexpo/robots'
EVENTS_WILDCARD = f'{KEY_PREFIX}/*/events'
_KEY_RE = re.compile(rf'{KEY_PREFIX}/({ROBOT_ID_PATTERN})/(events|commands)')

Sender = Literal['robot', 'console']
# Stable reason keys: receivers count refusals by them (link drops, the console's and the robot's stats).
REASONS = ('malformed', 'unknown_robot', 'bad_signature', 'wrong_sender', 'wrong_robot', 'replay', 'clock_skew',
           'too_large', 'unknown_kind')


class FleetError(ValueError):
    """An envelope refused (received) or not sendable (built): `reason` is one of REASONS, for counters;
    the message says what was wrong without echoing the payload."""

    def __init__(self, reason: str, detail: str = '') -> None:
        if reason not in REASONS:
            raise ValueError(f'unknown FleetError reason {reason!r}')
        super().__init__(f'{reason}: {detail}' if detail else reason)
        self.reason = reason
        self.detail = detail


def is_robot_id(text: object) -> bool:
    return isinstance(text, str) and _ROBOT_ID_RE.fullmatch(text) is not None


def _checked_robot_id(robot_id: str) -> str:
    if not is_robot_id(robot_id):
        raise FleetError('malformed', f'robot id must match {ROBOT_ID_PATTERN}')
    return robot_id


def events_key(robot_id: str) -> str:
    """The key expression a robot puts its events on (robot → console)."""
    return f'{KEY_PREFIX}/{_checked_robot_id(robot_id)}/events'


def commands_key(robot_id: str) -> str:
    """The key expression the console puts a robot's commands on (console → robot)."""
    return f'{KEY_PREFIX}/{_checked_robot_id(robot_id)}/commands'


def robot_id_of_key(key_expr: str) -> str | None:
    """The robot id in an events/commands key expression, None for any other key."""
    match = _KEY_RE.fullmatch(key_expr)
    return match.group(1) if match else None


# --- bodies ------------------------------------------------------------------------------------------
class Body(BaseModel):
    """Base of every body: strict, closed, finite, immutable (as caexpo_robot.messages)."""
    model_config = ConfigDict(extra='forbid', strict=True, allow_inf_nan=False, frozen=True)


Operator = Annotated[str, Field(min_length=1, max_length=64)]     # a console user name
CommandId = Annotated[str, Field(pattern=r'^[0-9a-f]{32}$')]       # uuid4().hex
Stamp = Annotated[float, Field(ge=0.0)]
Count = Annotated[int, Field(ge=0)]
Name = Annotated[str, Field(max_length=64)]
LongText = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
ShortText = Annotated[str, Field(max_length=500)]
DiagnosticsLevel = Literal[0, 1, 2, 3]    # OK WARN ERROR STALE, as diagnostic_msgs


class DiagnosticItem(Body):
    name: Annotated[str, Field(max_length=128)]
    level: DiagnosticsLevel
    message: ShortText


class RobotState(Body):
    greeting_paused: bool
    takeover_owner: Operator | None = None
    watchers: Annotated[list[Operator], Field(max_length=64)] = []
    conversation: Id | None = None
    visitor_language: Language | None = None
    screen: ScreenCardKind | None = None
    speaking: bool = False
    diagnostics_level: DiagnosticsLevel = 0
    diagnostics: Annotated[list[DiagnosticItem], Field(max_length=32)] = []


class Heartbeat(Body):
    state: RobotState


class Utterance(Body):
    side: Literal['visitor', 'robot', 'operator']
    text: LongText
    final: bool
    conversation: Id | None = None
    visitor: Id | None = None
    language: Language | None = None
    confidence: Annotated[float, Field(ge=0.0, le=1.0)] | None = None
    utterance: Id | None = None
    operator: Operator | None = None


class Reply(Body):
    text: LongText
    conversation: Id | None = None
    visitor: Id | None = None
    intent: Name | None = None
    source: Name | None = None
    actions: Annotated[list[Annotated[str, Field(max_length=200)]], Field(max_length=50)] = []   # titles


AlertType = Literal['staff_requested', 'handoff_failed', 'backend_down', 'no_camera', 'no_microphone',
                    'visitor_waiting']


class Alert(Body):
    alert_id: Id
    type: AlertType
    visitor: Id | None = None
    language: Language | None = None
    detail: ShortText | None = None


class AlertCleared(Body):
    alert_id: Id


class ConversationEnded(Body):
    conversation: Id
    started_at: Stamp
    ended_at: Stamp
    visitor: Id | None = None
    language: Language | None = None
    turns: Count = 0
    intents: Annotated[list[Name], Field(max_length=200)] = []
    answered: Count = 0
    # questions with no answer (the input for improving the assistant); 20 × 2000 characters keeps the
    # envelope under its cap even in three-byte scripts
    unanswered: Annotated[list[LongText], Field(max_length=20)] = []
    latencies_ms: Annotated[list[Annotated[float, Field(ge=0.0)]], Field(max_length=500)] = []


class Counters(Body):
    window_s: Annotated[float, Field(gt=0.0)]
    seen: Count
    engaged: Count
    served: Count
    languages: Annotated[dict[Language, Count], Field(max_length=16)] = {}


_JPEG_B64_CHARS = 4 * math.ceil(MAX_THUMBNAIL_JPEG_BYTES / 3)


class Thumbnail(Body):
    """A camera thumbnail with every detected face blurred on the robot (never a raw frame)."""
    jpeg_b64: Annotated[str, Field(max_length=_JPEG_B64_CHARS)]
    width: Annotated[int, Field(gt=0, le=4096)]
    height: Annotated[int, Field(gt=0, le=4096)]
    faces_blurred: Count
    stamp: Stamp

    @field_validator('jpeg_b64')
    @classmethod
    def _is_jpeg(cls, value: str) -> str:
        try:
            data = base64.b64decode(value, validate=True)
        except binascii.Error:
            raise ValueError('not base64') from None
        if len(data) > MAX_THUMBNAIL_JPEG_BYTES:
            raise ValueError(f'{len(data)} bytes of JPEG is more than {MAX_THUMBNAIL_JPEG_BYTES}')
        if not data.startswith(b'\xff\xd8\xff'):
            raise ValueError('not a JPEG')
        return value

    def jpeg(self) -> bytes:
        return base64.b64decode(self.jpeg_b64)

    @classmethod
    def of(cls, jpeg: bytes, width: int, height: int, faces_blurred: int, stamp: float) -> Thumbnail:
        return cls(jpeg_b64=base64.b64encode(jpeg).decode('ascii'), width=width, height=height,
                   faces_blurred=faces_blurred, stamp=stamp)


class Ack(Body):
    """Every command gets one: ok, or the error (e.g. "held by <operator>")."""
    command_id: CommandId
    ok: bool
    error: ShortText | None = None


class Command(Body):
    """Base of every console command: who sent it and its id (echoed in the robot's ack)."""
    command_id: CommandId
    operator: Operator


class Say(Command):
    text: Annotated[str, Field(min_length=1, max_length=MAX_SAY_CHARS, pattern=r'\S')]
    language: Language | None = None     # None: the visitor's language


class StopSpeech(Command):
    pass


class PauseGreeting(Command):
    pass


class ResumeGreeting(Command):
    pass


class TakeOver(Command):
    pass


class HandBack(Command):
    force: bool = False                  # a supervisor ends another operator's takeover


class AcknowledgeAlert(Command):
    alert_id: Id


class Watch(Command):
    watching: bool


EVENT_KINDS: Mapping[str, type[Body]] = MappingProxyType({
    'heartbeat': Heartbeat, 'utterance': Utterance, 'reply': Reply, 'alert': Alert,
    'alert_cleared': AlertCleared, 'conversation_ended': ConversationEnded, 'counters': Counters,
    'thumbnail': Thumbnail, 'ack': Ack,
})
# The closed allow-list of what the console may ask of a robot; any other kind is refused and counted.
COMMAND_KINDS: Mapping[str, type[Command]] = MappingProxyType({
    'say': Say, 'stop_speech': StopSpeech, 'pause_greeting': PauseGreeting, 'resume_greeting': ResumeGreeting,
    'take_over': TakeOver, 'hand_back': HandBack, 'acknowledge_alert': AcknowledgeAlert, 'watch': Watch,
})
KINDS_BY_SENDER: Mapping[str, Mapping[str, type[Body]]] = MappingProxyType(
    {'robot': EVENT_KINDS, 'console': COMMAND_KINDS})


# --- envelope ------------------------------------------------------------------------------------------
class Envelope(BaseModel):
    """A verified (or just signed) envelope; `body` is the model of its `kind`."""
    model_config = ConfigDict(extra='forbid', strict=True, allow_inf_nan=False, frozen=True)

    v: Literal[1]
    robot_id: Annotated[str, Field(pattern=rf'^{ROBOT_ID_PATTERN}$')]
    sender: Sender
    boot: Annotated[str, Field(pattern=r'^[0-9a-f]{16}$')]
    seq: Annotated[int, Field(ge=1, lt=2**63)]
    sent_at: Stamp
    kind: Annotated[str, Field(max_length=32)]
    body: SerializeAsAny[Body]
    sig: Annotated[str, Field(pattern=r'^[0-9a-f]{64}$')]

    @model_validator(mode='before')
    @classmethod
    def _body_of_kind(cls, data: Any) -> Any:
        """Validate `body` against the model of its `kind` for this sender (sign/verify check the kind first)."""
        if not isinstance(data, dict):
            return data
        model = KINDS_BY_SENDER.get(data.get('sender'), {}).get(data.get('kind'))   # type: ignore[arg-type]
        body = data.get('body')
        if model is None or isinstance(body, model):
            return data             # the field validation says what is wrong
        try:
            return {**data, 'body': model.model_validate(body)}
        except ValidationError as exc:
            raise ValueError(f'body.{_describe(exc)}') from None

    def encode(self) -> bytes:
        """The bytes to put on the wire (canonical JSON, signature included)."""
        return canonical_json(self.model_dump(mode='json'))

    @property
    def key_expr(self) -> str:
        return events_key(self.robot_id) if self.sender == 'robot' else commands_key(self.robot_id)


def canonical_json(obj: Any) -> bytes:
    """The bytes a signature covers: sorted keys, no spaces, UTF-8 (non-ASCII text as itself)."""
    return json.dumps(obj, sort_keys=True, separators=(',', ':'), ensure_ascii=False,
                      allow_nan=False).encode('utf-8')


def _mac(key: bytes, fields: Mapping[str, Any]) -> str:
    unsigned = {name: value for name, value in fields.items() if name != 'sig'}
    return hmac.new(key, canonical_json(unsigned), hashlib.sha256).hexdigest()


def new_boot() -> str:
    """A fresh boot id: random per process start, so a restarted sender's seq may begin again."""
    return secrets.token_hex(8)


def sign(fields: Mapping[str, Any], key: bytes) -> Envelope:
    """An Envelope of `fields` (robot_id, sender, boot, seq, sent_at, kind, body; `v` optional) signed with
    `key`. The body (a model or a dict) is validated against its kind first: nothing malformed is signed.
    FleetError('malformed' | 'unknown_kind' | 'too_large') if the envelope could not be received."""
    _check_key(key)
    draft = {**fields, 'v': fields.get('v', PROTOCOL_VERSION), 'sig': '0' * 64}
    _check_kind(draft)
    try:
        envelope = Envelope.model_validate(draft)
    except ValidationError as exc:
        raise FleetError('malformed', _describe(exc)) from None
    wire = envelope.model_dump(mode='json')
    signed = envelope.model_copy(update={'sig': _mac(key, wire)})
    size = len(signed.encode())
    if size > MAX_ENVELOPE_BYTES:
        raise FleetError('too_large', f'{size} bytes is more than {MAX_ENVELOPE_BYTES}')
    return signed


class ReplayState:
    """The last seq accepted per (robot, sender, boot), shared by one receiver's threads.

    A boot is forgotten once its newest message is more than max_skew_s old: anything of it replayed
    after that fails the clock check anyway, so memory stays bounded by what was seen recently."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last: dict[tuple[str, str, str], tuple[int, float]] = {}   # → (seq, newest sent_at)

    def accept(self, envelope: Envelope, now: float, max_skew_s: float) -> None:
        """Record the envelope's seq, or FleetError('replay') if it is not newer than the last one."""
        ident = (envelope.robot_id, envelope.sender, envelope.boot)
        with self._lock:
            last = self._last.get(ident)
            if last is not None and envelope.seq <= last[0]:
                raise FleetError('replay', f'seq {envelope.seq} after {last[0]}')
            if last is None and len(self._last) >= 64:
                self._forget_older_than(now - max_skew_s)
            newest = max(envelope.sent_at, last[1]) if last else envelope.sent_at
            self._last[ident] = (envelope.seq, newest)

    def _forget_older_than(self, horizon: float) -> None:
        for ident in [ident for ident, (_, newest) in self._last.items() if newest < horizon]:
            del self._last[ident]

    def __len__(self) -> int:
        with self._lock:
            return len(self._last)


def verify(raw: bytes, keys: Mapping[str, bytes], expected_sender: Sender, replay_state: ReplayState,
           now: float, *, max_skew_s: float = DEFAULT_MAX_SKEW_S, robot_id: str | None = None) -> Envelope:
    """The envelope in `raw`, checked in this order (cheap and unauthenticated checks first, the body's
    schema only once signed), or FleetError with the first failing reason:
    too_large, malformed (JSON, envelope fields), unknown_robot (no key), bad_signature, wrong_sender,
    unknown_kind, malformed (body), wrong_robot (`robot_id`: the one named by the key expression it came
    on), clock_skew, replay. Only an envelope passing every check advances the replay state."""
    if len(raw) > MAX_ENVELOPE_BYTES:
        raise FleetError('too_large', f'{len(raw)} bytes is more than {MAX_ENVELOPE_BYTES}')
    try:
        fields = pydantic_core.from_json(raw, allow_inf_nan=False)
    except (ValueError, RecursionError):
        raise FleetError('malformed', 'not JSON') from None
    if not isinstance(fields, dict):
        raise FleetError('malformed', 'not a JSON object')
    claimed = fields.get('robot_id')
    if not is_robot_id(claimed):
        raise FleetError('malformed', 'robot_id')
    key = keys.get(claimed)
    if key is None:
        raise FleetError('unknown_robot', claimed)
    sig = fields.get('sig')
    if not isinstance(sig, str):
        raise FleetError('malformed', 'sig')
    try:
        expected_sig = _mac(key, fields)
    except (ValueError, TypeError):        # a lone surrogate cannot be encoded: not signable, not ours
        raise FleetError('malformed', 'not canonical JSON') from None
    if not hmac.compare_digest(expected_sig, sig):
        raise FleetError('bad_signature', claimed)
    if fields.get('sender') != expected_sender:
        raise FleetError('wrong_sender', f'expected {expected_sender}')
    _check_kind(fields)
    try:
        envelope = Envelope.model_validate(fields)
    except ValidationError as exc:
        raise FleetError('malformed', _describe(exc)) from None
    if robot_id is not None and envelope.robot_id != robot_id:
        raise FleetError('wrong_robot', f'{envelope.robot_id} on the key of {robot_id}')
    if not abs(envelope.sent_at - now) <= max_skew_s:
        raise FleetError('clock_skew', f'sent {envelope.sent_at - now:+.1f} s from now')
    replay_state.accept(envelope, now, max_skew_s)
    return envelope


def _check_kind(fields: Mapping[str, Any]) -> None:
    kinds = KINDS_BY_SENDER.get(fields.get('sender'))   # type: ignore[arg-type]
    if kinds is not None and fields.get('kind') not in kinds:
        raise FleetError('unknown_kind', f'{str(fields.get("kind"))[:32]!r} is not a {fields["sender"]} kind')


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = '.'.join(str(part) for part in first['loc']) or '(envelope)'
    more = f' (+{len(errors) - 1} more)' if len(errors) > 1 else ''
    return f'{where}: {first["msg"]}{more}'[:300]


# --- keys ----------------------------------------------------------------------------------------------
def parse_key(text: str | bytes) -> bytes:
    """A key as given in configuration: hex (64 hex digits or more, e.g. `openssl rand -hex 32`)."""
    if isinstance(text, bytes):
        text = text.decode('ascii', errors='replace')
    text = text.strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        raise ValueError('a fleet key is hex digits (e.g. `openssl rand -hex 32`)') from None
    _check_key(key)
    return key


def _check_key(key: bytes) -> None:
    if not isinstance(key, bytes) or len(key) < MIN_KEY_BYTES:
        raise ValueError(f'a fleet key has at least {MIN_KEY_BYTES} bytes ({2 * MIN_KEY_BYTES} hex digits)')


def read_secret_file(path: str | os.PathLike[str]) -> str:
    """A key file's text; ValueError when group or others may read it (chmod 600 it)."""
    path = Path(path)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ValueError(f'{path}: fleet keys readable by others (chmod 600 it)')
    return path.read_text(encoding='utf-8')


def load_keys(source: Mapping[str, str] | str | os.PathLike[str]) -> dict[str, bytes]:
    """Per-robot keys {robot_id: key bytes} from a mapping {robot_id: hex} or a JSON file of one.

    The file holds secrets: it is refused when others may read it (chmod 600 it). ValueError names
    what is wrong (never the key)."""
    if isinstance(source, Mapping):
        mapping: Any = source
    else:
        path = Path(source)
        text = read_secret_file(path)
        try:
            mapping = json.loads(text)
        except ValueError:
            raise ValueError(f'{path}: not a JSON object of robot id → hex key') from None
        if not isinstance(mapping, dict):
            raise ValueError(f'{path}: not a JSON object of robot id → hex key')
    keys: dict[str, bytes] = {}
    for robot_id, text in mapping.items():
        if not is_robot_id(robot_id):
            raise ValueError(f'robot id {str(robot_id)[:70]!r} does not match {ROBOT_ID_PATTERN}')
        if not isinstance(text, (str, bytes)):
            raise ValueError(f'{robot_id}: the key is not a hex string')
        try:
            keys[robot_id] = parse_key(text)
        except ValueError as exc:
            raise ValueError(f'{robot_id}: {exc}') from None
    return keys


class Signer:
    """One sender's signing state: its boot and a seq growing per envelope (thread-safe)."""

    def __init__(self, sender: Sender, keys: Mapping[str, bytes], boot: str | None = None) -> None:
        for key in keys.values():
            _check_key(key)
        self.sender = sender
        self.boot = boot or new_boot()
        self._keys = dict(keys)
        self._seq = 0
        self._lock = threading.Lock()

    def sign(self, robot_id: str, kind: str, body: Body | Mapping[str, Any], now: float) -> Envelope:
        key = self._keys.get(robot_id)
        if key is None:
            raise FleetError('unknown_robot', robot_id)
        with self._lock:      # one seq per envelope even when several threads send
            self._seq += 1
            seq = self._seq
        return sign({'robot_id': robot_id, 'sender': self.sender, 'boot': self.boot, 'seq': seq,
                     'sent_at': now, 'kind': kind, 'body': body}, key)
