"""Every structured message the robot's nodes exchange: one pydantic model each, with its topic.

ROS 2 `.msg` files need a CMake interfaces package, which an ament_python package cannot build, so
these payloads travel as JSON in `std_msgs/String`. This module is their one definition:
- each model names its topic (relative, so a robot namespace applies), its QoS kind and its schema
  version; nested fields are models too, so a malformed list item is refused like a malformed field;
- `decode` is the one place a payload is parsed (size capped before parsing, depth capped by the
  parser, NaN/Infinity and unknown fields refused, strict types: `"false"` is not a boolean);
- `encode` is the one place one is written;
- `json_schemas()` gives the JSON Schema of each, exported to docs/messages/ for the screen, the
  console and other teams (a test keeps them equal).

Pure: no rclpy here. `nodes/common.py` wraps these in `std_msgs/String` (`CaexpoNode.subscribe` and
`CaexpoNode.publish`). docs/messages.md says how a `caexpo_robot_msgs` package would replace them.
"""
from __future__ import annotations

import json
from typing import Annotated, ClassVar, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from caexpo_robot.language.languages import LANGUAGES

SCHEMA_VERSION = 1
# The largest payload any node accepts (a faces frame of 30 visitors is ~6 kB; an answer with its
# actions ~20 kB). Anything larger is refused before parsing: no flood of text reaches a parser.
MAX_PAYLOAD_BYTES = 256 * 1024

Language = Literal[LANGUAGES]          # one of the eleven codes (vi th ms id fil my km lo zh en ko)
Id = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(max_length=20_000)]
Seconds = Annotated[float, Field(ge=0.0)]
Unit = Annotated[float, Field(ge=0.0, le=1.0)]   # normalised image coordinates, scores, confidences


class MessageError(ValueError):
    """A payload that is not a valid message of the expected kind (the text says what is wrong)."""


class Message(BaseModel):
    """Base of every payload: strict, closed, finite, immutable, versioned."""
    model_config = ConfigDict(extra='forbid', strict=True, allow_inf_nan=False, frozen=True)

    TOPIC: ClassVar[str] = ''
    FLOW: ClassVar[str] = ''    # publisher → subscribers, for the docs
    # 'events': reliable, deep queue; 'latched': the last value reaches late subscribers.
    QOS: ClassVar[str] = 'events'

    version: Literal[1] = SCHEMA_VERSION


class Part(BaseModel):
    """A nested part of a message: the same strict rules, no version of its own."""
    model_config = ConfigDict(extra='forbid', strict=True, allow_inf_nan=False, frozen=True)


# --- perception -------------------------------------------------------------------------------------
class TrackedFace(Part):
    id: Id
    x: float                     # box left, as a fraction of the image width (may be < 0 at the edge)
    y: float
    w: Unit
    h: Unit
    score: Unit
    distance_m: Annotated[float, Field(gt=0.0, le=1000.0)]
    facing: Unit                 # 0 profile .. 1 frontal
    confirmed: bool              # seen for confirm_hits frames: a visitor, not a flicker
    engaged: bool                # near and facing the robot long enough to be greeted


class FacesFrame(Message):
    """greeter/faces: the tracked faces of every camera frame (empty list: nobody there)."""
    TOPIC: ClassVar[str] = 'greeter/faces'
    FLOW: ClassVar[str] = 'face_detector → interaction, simulator'
    stamp: Seconds               # the camera frame's stamp
    frame_id: Annotated[str, Field(max_length=256)]
    width: Annotated[int, Field(gt=0)]
    height: Annotated[int, Field(gt=0)]
    faces: Annotated[list[TrackedFace], Field(max_length=100)]
    detect_ms: Seconds | None = None     # the model alone
    process_ms: Seconds | None = None    # the whole callback up to publishing


# --- speaking ---------------------------------------------------------------------------------------
class UtteranceTag(Part):
    """Who an utterance is for and why: echoed in every speech event about it."""
    purpose: Annotated[str, Field(max_length=64)] = 'say'
    visitor: Id | None = None
    intent: Annotated[str, Field(max_length=64)] | None = None    # answers: the assistant's intent
    source: Annotated[str, Field(max_length=64)] | None = None    # answers: backend, canned, ...


class SpeakRequest(Message):
    """greeter/say: a request to speak (and show) a text in a language."""
    TOPIC: ClassVar[str] = 'greeter/say'
    FLOW: ClassVar[str] = 'interaction → tts'
    text: Text
    language: Language
    id: Id | None = None                 # given by the requester to cancel or follow it; else assigned
    priority: Annotated[int, Field(ge=0, le=3)] = 1   # low 0, normal 1, high 2, urgent 3
    tag: UtteranceTag = UtteranceTag()
    interrupt: bool = False              # stop a playing utterance of no higher priority


class CancelSpeech(Message):
    """greeter/speech_cancel: stop the current utterance and/or drop queued ones."""
    TOPIC: ClassVar[str] = 'greeter/speech_cancel'
    FLOW: ClassVar[str] = 'interaction → tts'
    id: Id | None = None
    all: bool = False
    below_priority: Annotated[int, Field(ge=0, le=4)] | None = None


SpeechEventType = Literal['utterance_started', 'utterance_finished', 'utterance_cancelled', 'utterance_failed',
                          'utterance_dropped', 'screen_text']


class SpeechEvent(Message):
    """greeter/speech_events: what the tts node did with each request."""
    TOPIC: ClassVar[str] = 'greeter/speech_events'
    FLOW: ClassVar[str] = 'tts → interaction, simulator'
    t: Seconds
    type: SpeechEventType
    id: Id
    language: Language | None = None
    spoken_language: Language | None = None   # the voice actually used (a fallback may differ)
    voice: str | None = None
    text: Text | None = None
    fallback: str | None = None
    detail: str | None = None
    duration_s: Seconds | None = None
    wav: str | None = None
    tag: UtteranceTag = UtteranceTag()
    reason: Annotated[str, Field(max_length=2000)] | None = None
    priority: Annotated[int, Field(ge=0, le=3)] | None = None


class ScreenText(Message):
    """greeter/screen_text: text for the robot's screen (languages without a voice, captions)."""
    TOPIC: ClassVar[str] = 'greeter/screen_text'
    FLOW: ClassVar[str] = 'tts → screen'
    text: Text
    language: Language
    id: Id | None = None


# --- listening --------------------------------------------------------------------------------------
class WordConfidence(Part):
    word: Annotated[str, Field(max_length=200)]
    conf: Unit


class LanguageCandidate(Part):
    """One recognizer's reading of an utterance (the language choice weighs them)."""
    language: Language
    text: Text
    confidence: Unit


class HeardSpeech(Message):
    """greeter/heard: a partial (final=false) or final recognition result."""
    TOPIC: ClassVar[str] = 'greeter/heard'
    FLOW: ClassVar[str] = 'asr → interaction'
    text: Text
    language: Language
    final: bool
    t: Seconds | None = None
    confidence: Unit | None = None
    words: Annotated[list[WordConfidence], Field(max_length=1000)] = []
    candidates: Annotated[list[LanguageCandidate], Field(max_length=20)] = []
    start: Seconds | None = None
    end: Seconds | None = None
    engine: Literal['vosk', 'whisper'] | None = None   # which recognizer heard the chosen text
    language_probability: Unit | None = None   # Whisper's spoken-language probability of `language` (with priors)
    # False: the language was recognised but its transcripts are not trusted (asr.yaml `trust`, by default
    # Burmese, Khmer and Lao): the robot does not answer the text, it offers the screen in that language.
    trusted: bool = True


class HearableLanguages(Message):
    """greeter/hearable_languages (latched): the languages the asr node can hear, and why not the others."""
    TOPIC: ClassVar[str] = 'greeter/hearable_languages'
    FLOW: ClassVar[str] = 'asr → interaction'
    QOS: ClassVar[str] = 'latched'
    hearable: Annotated[list[Language], Field(max_length=len(LANGUAGES))]
    unavailable: dict[Language, Annotated[str, Field(max_length=2000)]] = {}


class BargeIn(Message):
    """greeter/barge_in: the visitor started speaking while the robot was talking (heard through the echo
    canceller); the robot stops talking to them and listens. Their words follow as HeardSpeech."""
    TOPIC: ClassVar[str] = 'greeter/barge_in'
    FLOW: ClassVar[str] = 'asr → interaction'
    t: Seconds                   # onset of the visitor's voice
    fired_t: Seconds             # when the detector decided (fired_t - t: detection latency)
    level_dbfs: Annotated[float, Field(ge=-200.0, le=10.0)]


class ConversationStarted(Message):
    """greeter/conversation: the robot starts listening to a new visitor (listening state is per visitor)."""
    TOPIC: ClassVar[str] = 'greeter/conversation'
    FLOW: ClassVar[str] = 'interaction → asr'
    t: Seconds
    visitor: Id
    language: Language | None = None     # the visitor's language if already known
    # the languages the robot greets in here (its opener languages): likelier a priori for spoken language ID
    expected: Annotated[list[Language], Field(max_length=len(LANGUAGES))] = []


class TypedQuestion(Message):
    """greeter/typed: what a visitor typed (or tapped) on the robot's screen."""
    TOPIC: ClassVar[str] = 'greeter/typed'
    FLOW: ClassVar[str] = 'screen, simulator → interaction'
    text: Annotated[str, Field(min_length=1, max_length=2000)]
    language: Language | None = None     # chosen on the screen; None: identified from the text
    visitor: Id | None = None
    via: Literal['typed', 'tap'] = 'typed'   # typed in the text box, or a tapped button (quick question, slot)


class LanguageChosen(Message):
    """greeter/language_chosen: the visitor tapped a language on the screen: it is theirs at once (it
    outranks anything recognized), the rest of the opener is cancelled and the robot stops talking."""
    TOPIC: ClassVar[str] = 'greeter/language_chosen'
    FLOW: ClassVar[str] = 'screen, simulator → interaction'
    language: Language
    visitor: Id | None = None            # None: the visitor being addressed (or the next to engage)


# --- the conversation -------------------------------------------------------------------------------
class ScreenAction(Part):
    """An assistant action for the screen (show_map, show_exhibitors, offer_slots, meeting_booked, ...).

    Its fields depend on its type and are defined by the assistant contract; here only the type is
    required, so a newer backend's action passes through to the screen."""
    model_config = ConfigDict(extra='allow', strict=True, allow_inf_nan=False, frozen=True)
    type: Annotated[str, Field(min_length=1, max_length=64)]


InteractionEventType = Literal[
    'visitor_detected', 'visitor_engaged', 'visitor_disengaged', 'visitor_left',
    'greeting_started', 'greeting_finished', 'asked_to_wait', 'language_identified',
    'listening_started', 'utterance_heard', 'not_understood', 'question_sent', 'filler_started',
    'answer_started', 'answer_finished', 'staff_called', 'farewell_started', 'farewell_finished', 'barge_in',
    # telepresence: the answer to each OperatorControl (utterance = its command_id; detail = the operator, or
    # why it was refused), and the alert that a visitor wants a staff member (once per conversation)
    'operator_took_over', 'operator_handed_back', 'operator_said', 'greeting_paused', 'greeting_resumed',
    'operator_refused', 'operator_stopped_speech', 'operator_watch', 'staff_requested']


class InteractionEvent(Message):
    """greeter/events: what the robot did with its visitors (the log operators and the simulator read)."""
    TOPIC: ClassVar[str] = 'greeter/events'
    FLOW: ClassVar[str] = 'interaction → simulator, operators'
    t: Seconds
    type: InteractionEventType
    visitor: Id | None = None
    language: Language | None = None
    text: Text | None = None
    group: Annotated[list[Id], Field(max_length=100)] = []
    distance_m: Annotated[float, Field(gt=0.0)] | None = None
    detail: Annotated[str, Field(max_length=2000)] | None = None
    intent: Annotated[str, Field(max_length=64)] | None = None
    source: Annotated[str, Field(max_length=64)] | None = None    # speech, kiosk, backend, canned, ...
    actions: Annotated[list[ScreenAction], Field(max_length=50)] = []
    confidence: Unit | None = None
    utterance: Id | None = None


ScreenCardKind = Literal['attract', 'greeting', 'listening', 'thinking', 'answer', 'farewell']


class ScreenCard(Message):
    """greeter/screen: what the touchscreen shows for the conversation now. The robot speaks short; the
    screen carries the rest: the multilingual welcome and picker, the full answer and its cards."""
    TOPIC: ClassVar[str] = 'greeter/screen'
    QOS: ClassVar[str] = 'latched'       # a page (re)connecting shows the current state at once
    FLOW: ClassVar[str] = 'interaction → screen'
    t: Seconds
    kind: ScreenCardKind
    visitor: Id | None = None
    language: Language | None = None     # the visitor's language, once known
    languages: Annotated[list[Language], Field(max_length=len(LANGUAGES))] = []   # greeting: the opener's
    text: Text | None = None             # answer: the full text (the robot says its short form)
    actions: Annotated[list[ScreenAction], Field(max_length=50)] = []   # answer: cards for the screen
    can_hear: bool | None = None         # False: the visitor's language cannot be heard: type or tap
    # an operator (telepresence) is watching the robot's view, or holds / speaks in the conversation: the
    # page shows a banner saying so in the visitor's language (visitors are told a person is there)
    staff: Literal['watching', 'speaking'] | None = None


# --- telepresence -----------------------------------------------------------------------------------
OperatorCommand = Literal['say', 'stop_speech', 'pause_greeting', 'resume_greeting', 'take_over', 'hand_back',
                          'watch']


class OperatorControl(Message):
    """greeter/operator: an operator's command, from the telepresence node (already authenticated)."""
    TOPIC: ClassVar[str] = 'greeter/operator'
    FLOW: ClassVar[str] = 'telepresence → interaction'
    t: Seconds
    command: OperatorCommand
    command_id: Id
    operator: Annotated[str, Field(min_length=1, max_length=64)]
    text: Text | None = None          # say
    language: Language | None = None  # say (None: the visitor's, else the robot's default)
    watching: bool | None = None      # watch
    force: bool = False               # hand_back by a supervisor


MESSAGES: tuple[type[Message], ...] = (
    FacesFrame, SpeakRequest, CancelSpeech, SpeechEvent, ScreenText, HeardSpeech, HearableLanguages,
    ConversationStarted, BargeIn, TypedQuestion, LanguageChosen, InteractionEvent, ScreenCard, OperatorControl)

M = TypeVar('M', bound=Message)


def decode(model: type[M], data: str | bytes) -> M:
    """The received payload as a `model`; MessageError naming the message and what is wrong."""
    name = model.__name__
    if len(data) > MAX_PAYLOAD_BYTES:
        raise MessageError(f'{name}: {len(data)} bytes is more than {MAX_PAYLOAD_BYTES}')
    try:
        return model.model_validate_json(data)
    except ValidationError as exc:
        raise MessageError(f'{name}: {_describe(exc)}') from None
    except (ValueError, RecursionError) as exc:   # pydantic-core's parser caps depth; belt and braces
        raise MessageError(f'{name}: {type(exc).__name__}: {str(exc)[:200]}') from None


def encode(message: Message) -> str:
    """The payload as compact JSON; non-ASCII text stays readable (Thai, Khmer, Hanzi...); unset
    optional fields are left out."""
    return message.model_dump_json(exclude_none=True)


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = '.'.join(str(part) for part in first['loc']) or '(payload)'
    more = f' (+{len(errors) - 1} more)' if len(errors) > 1 else ''
    return f'{where}: {first["msg"]}{more}'[:500]


def json_schemas() -> dict[str, dict]:
    """{file name: JSON Schema} of every message, with its topic and QoS, for docs/messages/."""
    schemas = {}
    for model in MESSAGES:
        schema = model.model_json_schema()
        schema['x-ros-topic'] = model.TOPIC
        schema['x-ros-type'] = 'std_msgs/msg/String (JSON)'
        schema['x-qos'] = model.QOS
        schemas[f'{model.__name__}.schema.json'] = schema
    return schemas


def schema_text(schema: dict) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + '\n'


def _nested_parts(annotation) -> list[type[Part]]:
    """The Part models inside a field's annotation (list[TrackedFace], UtteranceTag | None, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, Part):
        return [annotation]
    return [part for arg in get_args(annotation) for part in _nested_parts(arg)]


def _field_list(model: type[BaseModel], names: list[str]) -> str:
    shown = []
    for name in names:
        parts = _nested_parts(model.model_fields[name].annotation)
        inner = ''.join(f' {{{", ".join(part.model_fields)}}}' for part in parts)
        shown.append(f'`{name}`{inner}')
    return ', '.join(shown) or '—'


def markdown_table() -> str:
    """The README's message table, made from the models (a test keeps the README equal to it)."""
    rows = ['| topic | model (JSON Schema) | QoS | from → to | required fields | optional fields |',
            '|---|---|---|---|---|---|']
    for model in MESSAGES:
        fields = [name for name in model.model_fields if name != 'version']
        required = [name for name in fields if model.model_fields[name].is_required()]
        optional = [name for name in fields if name not in required]
        rows.append(f'| `{model.TOPIC}` | [`{model.__name__}`](docs/messages/{model.__name__}.schema.json) | '
                    f'{model.QOS} | {model.FLOW} | {_field_list(model, required)} | {_field_list(model, optional)} |')
    types = ', '.join(f'`{t}`' for t in get_args(InteractionEventType))
    speech = ', '.join(f'`{t}`' for t in get_args(SpeechEventType))
    return '\n'.join(rows) + f'\n\nSpeech event types: {speech}.\n\nInteraction event types: {types}.\n'


def write_schemas(folder: str) -> list[str]:
    """Write every message's JSON Schema into `folder` (docs/messages/); returns the file names."""
    from pathlib import Path
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (out / name).write_text(schema_text(schema), encoding='utf-8')
    return sorted(json_schemas())


if __name__ == '__main__':
    # python -m caexpo_robot.messages docs/messages   write the JSON Schemas
    # python -m caexpo_robot.messages --table         print the README's message table
    import sys
    if sys.argv[1:] == ['--table']:
        print(markdown_table(), end='')
    else:
        print('\n'.join(write_schemas(sys.argv[1] if len(sys.argv) > 1 else 'docs/messages')))
