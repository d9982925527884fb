"""The greeter's behaviour, as a pure state machine fed with observations and returning actions.

Inputs: tracked faces (per frame), speech events (`SpeechEvent`), what the visitor said (`HeardSpeech`),
typed or tapped (a question, a language), the visitor's voice starting over the robot's (`BargeIn`), the
assistant's replies, and the passing of time. Outputs: `Say` / `Cancel` (to the tts node), `Ask` /
`EndVisit` (to the assistant client), `StartConversation` (the listening side resets per visitor and
favours the opener languages), `Show` (the touchscreen's card) and `Emit` (interaction events);
`dialogue/outputs.py` turns them into messages. All times are passed in (sim or wall clock), so
simulation tests are deterministic. No rclpy here.

Rules (why they are so):
- One greeting per visitor, said at once (no waiting to see who else comes); visitors approaching
  together (within `group_distance_m` when the first engages) or engaging during the greeting
  cooldown share one group greeting — a crowd must not get a greeting per face.
- One visitor is addressed at a time (the closest engaged one); others get a brief greeting and are
  asked to wait, and are addressed in turn without being greeted again.
- The robot speaks short and the screen carries the rest: the spoken greeting is a hello of about a
  second in the first opener language (the visitor's, if known); the multilingual welcome, the language
  picker and the menu are on the screen (`Show('greeting')`), and the robot listens as soon as the hello
  is said (within 3.5 s of engaging). Answers are said in their compact spoken form; the full text and
  the assistant's actions go to the screen (`Show('answer')`).
- From the first thing the visitor says, types or taps it switches to their language (the rest of the
  greeting is cancelled) and keeps it for that visitor; a language tapped on the screen is theirs at
  once and outranks recognition. "Please type on my screen" is said only in the visitor's own language,
  once it is known and cannot be heard.
- Barge-in: a tapped language, a typed/tapped question, or the addressed visitor's voice starting while
  the robot talks to them (`on_barge_in`, heard through the echo canceller) stops what the robot is
  saying to that visitor and their group at once, the playing utterance too: a greeting is over and the
  robot listens; an answer is finished and it listens; a filler stops (the answer still comes). Their
  words then arrive as a final HeardSpeech and are answered. A farewell is never stopped (the visitor is
  leaving; nobody is addressed any more), nor what is said to other visitors; a barge-in with nothing
  to stop does nothing (the node counts it).
- Words that are not trusted (HeardSpeech.trusted false: Burmese, Khmer, Lao by default) are never
  sent to the assistant: the language is taken (as any heard language), and the robot offers the
  screen in it ("please type or tap on my screen", the listening card with can_hear false).
- A greeted visitor who leaves is no longer talked to (their pending utterances are cancelled) and
  gets one farewell (per group, in the group's language); a conversation ends after a quiet timeout.
- A visitor who stepped away and comes forward again while still tracked is served again (offered
  help), not greeted again.
- Staff (telepresence, `on_operator`): one operator at a time may take over the conversation; while they
  hold it the assistant is not asked and the robot adds nothing of its own (no filler, no "sorry?", no
  prompt, no farewell for silence: the operator is typing), the visitor's words are still emitted for the
  operator to read, and the robot says what the operator types. Handed back, the conversation goes on and
  the next question goes to the assistant. Greetings can be paused (nobody new is greeted or offered help;
  a conversation in progress goes on). The screen says when a staff member watches or speaks. A visitor
  who hears the robot promise a staff member (the canned answer) or whose request the assistant passed
  on raises one `staff_requested` per conversation, so an operator is told.
"""
from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterable, NamedTuple, Protocol, Sequence

from caexpo_robot.backend.contract import FALLBACK_INTENT, spoken_form
from caexpo_robot.dialogue.language_evidence import LanguageState, accept
from caexpo_robot.language.langid import identify
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.messages import HeardSpeech, OperatorControl, ScreenAction, SpeechEvent


class Say(NamedTuple):
    id: str
    text: str
    language: str
    priority: int
    tag: dict
    interrupt: bool = False


class Cancel(NamedTuple):
    id: str


class Ask(NamedTuple):
    visitor: str
    text: str
    language: str


class EndVisit(NamedTuple):
    visitor: str


class Emit(NamedTuple):
    type: str
    fields: dict


class Abandon(NamedTuple):
    """The dialogue stopped waiting for this visitor's answer (it said the canned one): forget the question."""
    visitor: str


class StartConversation(NamedTuple):
    """The robot starts listening to a visitor other than the last one: listening state is per visitor.
    `expected`: the robot's opener languages, likelier a priori for spoken language ID."""
    visitor: str
    language: str | None
    expected: tuple[str, ...] = ()


class Show(NamedTuple):
    """The touchscreen's card for the conversation now (messages.ScreenCard)."""
    kind: str                          # attract, greeting, listening, thinking, answer, farewell
    visitor: str | None = None
    language: str | None = None
    languages: tuple[str, ...] = ()    # greeting: the opener languages
    text: str | None = None            # answer: the full text
    actions: tuple = ()                # answer: the assistant's actions (ScreenAction)
    can_hear: bool | None = None       # listening: False when the visitor's language cannot be heard
    staff: str | None = None           # 'watching' / 'speaking': set by the manager (_show), never by callers


Action = Say | Cancel | Ask | EndVisit | Emit | StartConversation | Abandon | Show
ENDED = ('utterance_finished', 'utterance_failed', 'utterance_cancelled', 'utterance_dropped')
LOST = ('utterance_failed', 'utterance_dropped')   # never (fully) heard: the visitor needs another way

PRIORITY_NORMAL, PRIORITY_HIGH = 1, 2
OPERATOR = 'operator'    # the purpose of what an operator says through the robot
# What the robot says to a visitor that a tap, a typed question or their voice stops at once (barge-in);
# not the farewell: the visitor is leaving, and a goodbye cut short is rude.
SPOKEN_TO_VISITOR = ('greeting', 'prompt', 'not_understood', 'filler', 'answer')
CHOICE_KEPT_S = 30.0    # a language tapped with nobody addressed is for the next visitor within this


class Stage(enum.Enum):
    SEEN = 'seen'                # tracked, not engaged yet
    GREETING = 'greeting'        # greeting utterances queued or playing
    WAITING = 'waiting'          # greeted briefly, another visitor is being addressed
    LISTENING = 'listening'      # addressed, waiting for a question
    THINKING = 'thinking'        # question handed to the assistant
    ANSWERING = 'answering'      # speaking the answer
    FAREWELL = 'farewell'        # goodbye said, conversation over
    LEFT = 'left'


class Face(Protocol):
    """What the dialogue needs of a tracked face (messages.TrackedFace has it)."""
    id: str
    distance_m: float
    engaged: bool
    confirmed: bool


@dataclass(frozen=True)
class FaceObservation:
    """A Face without the rest of a tracked face's fields (tests, tools)."""
    id: str
    distance_m: float
    engaged: bool
    confirmed: bool = True


@dataclass
class InteractionConfig:
    opener_languages: tuple[str, ...] = ('zh', 'en')
    default_language: str = 'en'
    group_distance_m: float = 3.0    # not-yet-greeted visitors this near when someone engages share the greeting
    greeting_cooldown_s: float = 6.0
    leave_after_s: float = 2.0
    listen_timeout_s: float = 8.0
    min_confidence: float = 0.5
    max_turns: int = 12
    forget_after_s: float = 120.0    # a robot runs all day: visitors who left are forgotten after this
    malay_indonesian_default: str = 'ms'   # typed text that could be either is taken as this
    # No stage waits for ever: the dialogue's own bound on the assistant (then the canned answer), and
    # how long a speaking stage (greeting, answer, farewell, a prompt) waits without news from tts
    # beyond what is playing before it moves on as if the speech had ended.
    thinking_timeout_s: float = 3.3
    speech_timeout_s: float = 15.0
    # An operator's hold lapses (autonomy resumes) after this long with no command from them and nothing
    # heard from the visitor: long enough to read and type a reply, short enough that a console closed
    # without handing back does not leave visitors unanswered for the rest of the day.
    operator_idle_s: float = 180.0

    def __post_init__(self) -> None:
        unknown = [code for code in [*self.opener_languages, self.default_language] if code not in LANGUAGES]
        if unknown:
            raise ValueError(f'unknown language code(s) {unknown}; known: {" ".join(LANGUAGES)}')


@dataclass
class Visitor:
    id: str
    stage: Stage = Stage.SEEN
    distance_m: float = float('inf')
    engaged: bool = False
    disengaged_since: float | None = None
    greeted: bool = False
    group: str = ''
    language: str | None = None
    listening_since: float | None = None
    prompted: bool = False
    turns: int = 0
    left_at: float | None = None
    stage_since: float = 0.0          # when the visitor entered `stage`
    progress_at: float = 0.0          # the last speech event about the visitor's utterances
    speech_until: float = 0.0         # when what is playing for the visitor should end
    farewell_done: bool = False
    speech: LanguageState = field(default_factory=LanguageState)
    staff_requested: bool = False     # this conversation already told the operators (once is enough)
    question: str | None = None       # the last question asked, for the staff alert


@dataclass
class Staff:
    """The operators' hold on the robot (telepresence): robot-wide, not per visitor, as the console shows it."""
    holder: str | None = None                         # the operator who took over the conversation
    active_at: float = 0.0                            # the holder's last command, or the visitor's last words
    # Anyone has the robot's view open: the telepresence core's aggregate, the one place that knows every
    # watcher (a per-operator set here went wrong: the core names whoever changed, with everyone's state).
    watched: bool = False
    greeting_paused: bool = False


@dataclass
class Group:
    id: str
    members: list[str]
    started: float
    greeting_ids: list[str] = field(default_factory=list)
    started_speaking: bool = False
    greeting_done: bool = False
    farewell_said: bool = False


class InteractionManager:
    def __init__(self, config: InteractionConfig, phrase: Callable[..., str],
                 canned: Callable[[str], str] | None = None) -> None:
        """`phrase(key, language, **values) -> str` gives the robot's own sentences (the phrasebook);
        `canned(language)` the canned answer (Phrasebook.canned_answer)."""
        self.config = config
        self.phrase = phrase
        self.canned = canned or (lambda language: phrase('canned_answer', language))
        self.retries: set[str] = set()    # canned answers said because an answer was lost: never retried
        self.visitors: dict[str, Visitor] = {}
        self.groups: dict[str, Group] = {}
        self.addressed: str | None = None
        self.utterances: dict[str, tuple[str, str]] = {}   # tts id -> (purpose, visitor), until it ends
        self.started: set[str] = set()                      # of those, the ones the tts node has started
        self._ids = itertools.count(1)
        self._group_ids = itertools.count(1)
        self.hearable: set[str] = set()    # languages the asr node has a model for (it tells us)
        self.conversation: str | None = None   # the visitor the robot last started listening to
        self.card: Show | None = None          # the screen's current card
        self.card_since = 0.0
        self.chosen: tuple[str, float] | None = None   # a language tapped before anyone was addressed
        self.staff = Staff()
        # operator utterance id -> when it was queued or is due to end (started + duration): it expires after
        # speech_timeout_s, so a tts that never reports it cannot leave the 'speaking' banner up for good.
        self.operator_words: dict[str, float] = {}

    def set_hearable(self, languages) -> None:
        self.hearable = set(languages)

    # --- inputs ---------------------------------------------------------------------------------
    def on_faces(self, faces: Iterable[Face], now: float) -> list[Action]:
        actions: list[Action] = []
        seen = set()
        current = []
        for face in faces:   # first every distance, so a greeting sees everyone who is here now
            if not face.confirmed:
                continue
            seen.add(face.id)
            visitor = self.visitors.get(face.id)
            if visitor is None:
                visitor = self.visitors[face.id] = Visitor(face.id)
                actions.append(self._emit('visitor_detected', now, visitor, distance_m=round(face.distance_m, 2)))
            if visitor.stage is Stage.LEFT and face.engaged:
                # Stepped back, then came forward again: served again, not greeted again.
                visitor.left_at, visitor.engaged = None, False
                self._enter(visitor, Stage.WAITING, now)
                visitor.listening_since, visitor.prompted = None, False
                visitor.staff_requested = False     # a new conversation
                group = self.groups.get(visitor.group)
                if group is not None:
                    group.farewell_said = False
            if visitor.stage is not Stage.LEFT:
                visitor.distance_m = face.distance_m
                current.append((face, visitor))
        for face, visitor in current:
            if face.engaged and not visitor.engaged:
                visitor.engaged, visitor.disengaged_since = True, None
                actions.append(self._emit('visitor_engaged', now, visitor, distance_m=round(face.distance_m, 2)))
                actions += self._on_engaged(visitor, now)
            elif not face.engaged and visitor.engaged:
                visitor.engaged = False
                visitor.disengaged_since = now
                actions.append(self._emit('visitor_disengaged', now, visitor))
            elif face.engaged:
                visitor.disengaged_since = None
        for visitor in list(self.visitors.values()):
            if visitor.stage is Stage.LEFT:
                continue
            gone = visitor.id not in seen
            walked_away = (not visitor.engaged and visitor.disengaged_since is not None
                           and now - visitor.disengaged_since >= self.config.leave_after_s)
            if gone or walked_away:
                actions += self._on_left(visitor, now)
        return actions + self.tick(now)

    def on_tts_event(self, event: SpeechEvent, now: float) -> list[Action]:
        purpose, visitor_id = self.utterances.get(event.id, ('', ''))
        if purpose == OPERATOR:
            return self._on_operator_words(event, visitor_id, now)
        visitor = self.visitors.get(visitor_id)
        if not purpose or visitor is None:
            return []
        kind = event.type
        group = self.groups.get(visitor.group)
        for member in [self.visitors[m] for m in group.members if m in self.visitors] if (
                group is not None and purpose == 'greeting') else [visitor]:
            member.progress_at = now
            if kind == 'utterance_started':
                member.speech_until = max(member.speech_until, now + (event.duration_s or 0.0))
        if kind == 'utterance_started':
            self.started.add(event.id)
        actions: list[Action] = []
        if purpose == 'greeting' and group is not None:
            if kind == 'utterance_started' and not group.started_speaking:
                group.started_speaking = True
                actions.append(self._emit('greeting_started', now, visitor, group=list(group.members),
                                          language=event.language, text=event.text))
            elif kind in ENDED and event.id == group.greeting_ids[-1]:
                actions += self._greeting_done(group, visitor, now)
        elif purpose == 'answer':
            if kind == 'utterance_started':
                actions.append(self._emit('answer_started', now, visitor, language=event.language,
                                          text=event.text))
            elif kind in LOST and visitor.stage is Stage.ANSWERING and event.id not in self.retries:
                # Refused or failed by tts: the visitor hears the canned line instead, once.
                language = event.language or self._language(visitor)
                retry = self._say_text(visitor, spoken_form(self.canned(language), language), language, 'answer',
                                       extra={'intent': FALLBACK_INTENT, 'source': 'canned'})
                self.retries.add(retry.id)
                actions.append(retry)
                actions += self._staff_requested(visitor, now, 'canned', FALLBACK_INTENT, [])
            elif kind in ENDED:
                actions.append(self._emit('answer_finished', now, visitor, detail=event.reason))
                if visitor.stage is Stage.ANSWERING:
                    actions += self._start_listening(visitor, now)
        elif purpose == 'farewell' and kind == 'utterance_started':
            actions.append(self._emit('farewell_started', now, visitor, language=event.language,
                                      text=event.text, group=list(group.members) if group else []))
        elif purpose == 'farewell' and kind in ENDED and not visitor.farewell_done:
            visitor.farewell_done = True
            actions.append(self._emit('farewell_finished', now, visitor, detail=event.reason))
        elif purpose in ('prompt', 'not_understood') and kind in ENDED:
            if visitor.stage is Stage.LISTENING:   # said, dropped or failed: the listening clock starts
                visitor.listening_since = now
        if kind in ENDED:
            self.utterances.pop(event.id, None)
            self.started.discard(event.id)
            self.retries.discard(event.id)
        return actions

    def on_heard_speech(self, heard: HeardSpeech, now: float) -> list[Action]:
        """A HeardSpeech message: partials are not acted on; a final one goes to `on_heard`, an untrusted
        one with its language's probability as the confidence (its words are not used; a visitor already
        known to speak that language is offered the screen whatever the probability)."""
        if not heard.final:
            return []
        confidence = heard.confidence if heard.trusted else heard.language_probability
        visitor = self.visitors.get(self.addressed or '')
        if not heard.trusted and visitor is not None and visitor.language == heard.language:
            confidence = 1.0   # their language is known (tapped, or heard before): nothing to doubt
        return self.on_heard(heard.text, heard.language, 1.0 if confidence is None else confidence, now, 'speech',
                             len(heard.candidates) or None, trusted=heard.trusted)

    def on_heard(self, text: str, language: str | None, confidence: float, now: float,
                 source: str = 'speech', recognizers: int | None = None, trusted: bool = True) -> list[Action]:
        """A final recognition result or kiosk text for the addressed visitor. `recognizers`: how many
        recognizers produced a hypothesis (None: unknown); with one, or one speech model loaded, the
        language must be proven (dialogue/language_evidence.py). `trusted=False`: the language was
        recognised but not the words: they are not asked, the robot offers the screen in that language."""
        visitor = self.visitors.get(self.addressed or '')
        if visitor is None or visitor.stage not in (Stage.LISTENING, Stage.WAITING, Stage.GREETING):
            why = f'{visitor.id} is {visitor.stage.value}' if visitor else 'nobody is being addressed'
            return [Emit('utterance_heard', {'t': now, 'text': text, 'language': language, 'source': source,
                                             'detail': f'ignored: {why}'})]
        actions: list[Action] = []
        if (trusted and not text.strip()) or language is None or confidence < self.config.min_confidence:
            return self._not_understood(visitor, text, confidence, source, now)
        lone = len(self.hearable) <= 1 or (recognizers is not None and recognizers <= 1)
        visitor.speech.language = visitor.language
        why_not = accept(visitor.speech, text, language, source, lone, self.config.malay_indonesian_default)
        if why_not:
            return self._not_understood(visitor, text, confidence, source, now, why_not)
        if visitor.language != language:
            visitor.language = language
            actions.append(self._emit('language_identified', now, visitor, language=language, source=source,
                                      confidence=round(confidence, 3)))
            group = self.groups.get(visitor.group)
            actions += self._cancel_pending(set(group.members) if group else {visitor.id},
                                            ('greeting', 'prompt'), including_playing=False)
        if not trusted:
            return actions + self._offer_screen(visitor, text, language, confidence, source, now)
        if self.staff.holder is not None:   # the operator answers: they read it, the assistant is not asked
            self.staff.active_at = now
            return actions + [self._emit('utterance_heard', now, visitor, text=text, language=language,
                                         confidence=round(confidence, 3), source=source,
                                         detail=f'for the operator {self.staff.holder}')]
        actions.append(self._emit('utterance_heard', now, visitor, text=text, language=language,
                                  confidence=round(confidence, 3), source=source))
        self._enter(visitor, Stage.THINKING, now)
        visitor.turns += 1
        visitor.question = text
        actions.append(self._emit('question_sent', now, visitor, text=text, language=language))
        actions += self._show(Show('thinking', visitor.id, language), now)   # before Ask: its reply may be at once
        actions.append(Ask(visitor.id, text, language))
        return actions

    def _offer_screen(self, visitor: Visitor, text: str, language: str, confidence: float, source: str,
                      now: float) -> list[Action]:
        """Speech in a language whose words are not trusted (Burmese, Khmer, Lao by default): no question for
        the assistant; "please type or tap on my screen" said in that language, the screen's card in it."""
        actions: list[Action] = [self._emit('utterance_heard', now, visitor, text=text, language=language,
                                            confidence=round(confidence, 3), source=source,
                                            detail='not trusted: the screen is offered')]
        if self.staff.holder is not None:   # the operator decides what the robot says
            return actions + self._show(Show('listening', visitor.id, language, can_hear=False), now)
        actions.append(self._say(visitor, 'use_screen', language, 'prompt'))
        if visitor.stage is Stage.LISTENING:
            visitor.prompted = False
            visitor.listening_since = None    # the listening clock starts when the offer has been said
        return actions + self._show(Show('listening', visitor.id, language, can_hear=False), now)

    def _not_understood(self, visitor: Visitor, text: str, confidence: float, source: str, now: float,
                        detail: str | None = None) -> list[Action]:
        note = self._emit('not_understood', now, visitor, text=text, confidence=round(confidence, 3),
                          source=source, detail=detail)
        if self.staff.holder is not None:   # the operator reads it and decides what the robot says
            return [note]
        return [note, self._say(visitor, 'not_understood', self._language(visitor), 'not_understood')]

    def on_typed(self, text: str, language: str | None, now: float) -> list[Action]:
        """Text typed (or a button tapped) on the screen, in the language chosen there or else identified
        from the text. It stops what the robot is saying to the visitor at once (touch barge-in)."""
        stopped = self._barge_in(self.visitors.get(self.addressed or ''), now, 'the visitor typed or tapped')
        return stopped + self._typed(text, language, now)

    def on_language_chosen(self, language: str, visitor_id: str | None, now: float) -> list[Action]:
        """The visitor tapped a language on the screen: theirs at once (it outranks recognition); the rest
        of the greeting and whatever the robot is saying to them stop, and the robot asks in it (or, if it
        cannot hear it, says to type on the screen). With nobody addressed it is for the next visitor."""
        visitor = self.visitors.get(visitor_id or self.addressed or '')
        if visitor is None or visitor.stage in (Stage.SEEN, Stage.LEFT, Stage.FAREWELL):
            self.chosen = (language, now)
            return []
        visitor.language = language
        visitor.speech.language, visitor.speech.source = language, 'kiosk'
        visitor.speech.pending, visitor.speech.pending_count = None, 0
        actions: list[Action] = [self._emit('language_identified', now, visitor, language=language, source='tap',
                                            confidence=1.0)]
        stopped = self._barge_in(visitor, now, 'the visitor tapped a language')
        actions += stopped
        if visitor.id != self.addressed:
            return actions
        if visitor.stage is Stage.LISTENING:   # the robot asks in the chosen language, then listens
            interrupt = any(isinstance(a, Cancel) and a.id in self.started for a in stopped)
            actions.append(self._say(visitor, *self._prompt(visitor), 'prompt')._replace(interrupt=interrupt))
            visitor.prompted = False
            visitor.listening_since = None    # the listening clock starts when the prompt has been said
        return actions + self._show(self._card_for(visitor), now)

    def on_barge_in(self, onset_t: float, now: float) -> list[Action]:
        """The addressed visitor started speaking (at `onset_t`) while the robot was talking to them: what it
        says to them and their group stops at once, the playing utterance too (as a tap does), and it listens;
        their words follow as a final HeardSpeech. Nobody addressed, or nothing being said to them (a farewell
        to someone else, a greeting to newcomers): [] (the node counts it)."""
        visitor = self.visitors.get(self.addressed or '')
        if visitor is None:
            return []
        group = self.groups.get(visitor.group)
        owners = set(group.members) if group else {visitor.id}
        speaking = [(u, purpose) for u, (purpose, owner) in self.utterances.items()
                    if owner in owners and purpose in SPOKEN_TO_VISITOR]
        stopped = self._barge_in(visitor, now, 'the visitor spoke') if speaking else []
        cancels = [a for a in stopped if isinstance(a, Cancel)]
        if not cancels:
            return []
        playing = next((u for u, _ in speaking if u in self.started), None)
        purposes = ', '.join(sorted({purpose for _, purpose in speaking}))
        note = self._emit('barge_in', now, visitor, utterance=playing, detail=f'stopped {purposes} '
                          f'({"playing" if playing else "queued"}); {now - onset_t:.3f} s after the voice began')
        return [*cancels, note, *[a for a in stopped if not isinstance(a, Cancel)]]

    def _barge_in(self, visitor: Visitor | None, now: float, why: str) -> list[Action]:
        """Stop what the robot is saying to this visitor (and their group), the playing utterance too."""
        if visitor is None or visitor.stage not in (Stage.GREETING, Stage.WAITING, Stage.LISTENING,
                                                    Stage.THINKING, Stage.ANSWERING):
            return []
        group = self.groups.get(visitor.group)
        actions = self._cancel_pending(set(group.members) if group else {visitor.id}, SPOKEN_TO_VISITOR,
                                       including_playing=True)
        if visitor.stage is Stage.GREETING and group is not None:
            actions += self._greeting_done(group, visitor, now)
        elif visitor.stage is Stage.ANSWERING:
            actions.append(self._emit('answer_finished', now, visitor, detail=f'stopped: {why}'))
            actions += self._start_listening(visitor, now)
        return actions

    def _typed(self, text: str, language: str | None, now: float) -> list[Action]:
        confidence = 1.0
        if language is None:
            guess = identify(text, prefer=self.config.malay_indonesian_default)
            language, confidence = guess.code, guess.confidence
        # Typed text is exact: only the language can be uncertain, so its confidence gates the reply.
        return self.on_heard(text, language, max(confidence, self.config.min_confidence) if language else 0.0,
                             now, 'kiosk')

    def on_filler(self, visitor_id: str, text: str, language: str, now: float) -> list[Action]:
        visitor = self.visitors.get(visitor_id)
        if visitor is None or visitor.stage is not Stage.THINKING:
            return []
        say = self._say_text(visitor, text, language, 'filler')
        return [self._emit('filler_started', now, visitor, text=text, language=language), say]

    def on_reply(self, visitor_id: str, text: str, language: str, intent: str | None,
                 actions_: Sequence[ScreenAction], end_session: bool, source: str, now: float,
                 spoken: str | None = None) -> list[Action]:
        """The assistant's answer: `spoken` (its compact spoken form; else `text`) is said, the full text
        and the actions go to the screen."""
        visitor = self.visitors.get(visitor_id)
        if visitor is None or visitor.stage is not Stage.THINKING:
            return []
        out: list[Action] = [self._emit('staff_called', now, visitor, source=source)
                             ] if any(a.type == 'call_staff' for a in actions_) else []
        out += self._staff_requested(visitor, now, source, intent, actions_)
        self._enter(visitor, Stage.ANSWERING, now)
        # The deadline is for what the visitor hears: the answer never waits behind "one moment", nor
        # behind the rest of a welcome the visitor interrupted with their question (their group's too).
        group = self.groups.get(visitor.group)
        fillers = self._cancel_pending(set(group.members) if group else {visitor.id}, ('filler', 'greeting'),
                                       including_playing=True)
        answer = self._say_text(visitor, spoken or text, language, 'answer',
                                extra={'intent': intent or '', 'source': source})
        out += [*fillers, answer._replace(interrupt=any(c.id in self.started for c in fillers))]
        out += self._show(Show('answer', visitor.id, language, text=text, actions=tuple(actions_)), now)
        if end_session or visitor.turns >= self.config.max_turns:
            out += self._farewell(visitor, now, leaving=False)
        return out

    # --- staff (telepresence) -------------------------------------------------------------------
    def on_operator(self, control: OperatorControl, now: float) -> list[Action]:
        """An operator's command (already authenticated by the telepresence node). Whatever happens, exactly one
        answer event carries `utterance=command_id`: the command's own type (detail: the operator), or
        `operator_refused` (detail: why)."""
        if control.operator == self.staff.holder:
            self.staff.active_at = now
        handler = getattr(self, f'_operator_{control.command}')
        return handler(control, now)

    def _operator_take_over(self, c: OperatorControl, now: float) -> list[Action]:
        holder = self.staff.holder
        if holder not in (None, c.operator):
            return [self._answer('operator_refused', c, now, detail=f'held by {holder}')]
        self.staff.holder, self.staff.active_at = c.operator, now
        actions: list[Action] = []
        visitor = self.visitors.get(self.addressed or '')
        if visitor is not None and visitor.stage is Stage.THINKING:
            # The question out to the assistant is dropped (its late reply is ignored), and so is the filler
            # ("one moment"): the operator answers now.
            actions.append(Abandon(visitor.id))
            actions += self._cancel_pending({visitor.id}, ('filler',), including_playing=True)
            actions += self._start_listening(visitor, now)
        return [*actions, self._answer('operator_took_over', c, now), *self._restaff(now)]

    def _operator_hand_back(self, c: OperatorControl, now: float) -> list[Action]:
        holder = self.staff.holder
        if holder is None:
            return [self._answer('operator_refused', c, now, detail='not taken over')]
        if holder != c.operator and not c.force:
            return [self._answer('operator_refused', c, now, detail=f'held by {holder}')]
        self.staff.holder = None
        visitor = self.visitors.get(self.addressed or '')
        if visitor is not None and visitor.stage is Stage.LISTENING:
            # The visitor was just talking with a person: their quiet time starts now, not when they last spoke.
            visitor.listening_since, visitor.prompted = now, False
        detail = c.operator if holder == c.operator else f'{c.operator} (forced; held by {holder})'
        return [self._answer('operator_handed_back', c, now, detail=detail), *self._restaff(now)]

    def _hold_lapsed(self, now: float) -> list[Action]:
        """Nothing from the holder or the visitor for operator_idle_s: the robot answers again. Reported as a
        hand back with no command (utterance None) so the console's state follows."""
        holder, self.staff.holder = self.staff.holder, None
        visitor = self.visitors.get(self.addressed or '')
        if visitor is not None and visitor.stage is Stage.LISTENING:
            visitor.listening_since, visitor.prompted = now, False
        note = Emit('operator_handed_back', {
            't': round(now, 4), 'visitor': visitor.id if visitor else None,
            'detail': f'{holder}: lapsed after {self.config.operator_idle_s:g} s without a command or a question'})
        return [note, *self._restaff(now)]

    def _operator_say(self, c: OperatorControl, now: float) -> list[Action]:
        holder = self.staff.holder
        if holder not in (None, c.operator):   # the holder speaks for the robot, as take_over enforces
            return [self._answer('operator_refused', c, now, detail=f'held by {holder}')]
        text = (c.text or '').strip()
        if not text:
            return [self._answer('operator_refused', c, now, detail='say needs a text')]
        visitor = self.visitors.get(self.addressed or '')
        language = c.language or (visitor.language if visitor is not None else None) or self.config.default_language
        owner = visitor.id if visitor is not None else ''
        utterance_id = f'operator-{next(self._ids)}'
        self.utterances[utterance_id] = (OPERATOR, owner)
        self.operator_words[utterance_id] = now
        # High priority, like an answer: queued after what is playing, ahead of the robot's own lines; the
        # operator stops the robot with stop_speech if they want to be heard at once.
        say = Say(utterance_id, text, language, PRIORITY_HIGH, {'visitor': visitor.id if visitor else None,
                                                                'purpose': OPERATOR, 'source': OPERATOR})
        answer = self._answer('operator_said', c, now, text=text, language=language, source=OPERATOR)
        if visitor is None:   # nobody addressed: the words are said and captioned; the card stays
            return [say, answer, *self._restaff(now)]
        return [say, answer, *self._show(Show('answer', visitor.id, language, text=text), now)]

    def _operator_stop_speech(self, c: OperatorControl, now: float) -> list[Action]:
        # Everything the robot says or will say, a farewell and the operator's own words too: an operator
        # asked. The stages move on as the tts node reports each utterance cancelled.
        cancels: list[Action] = [Cancel(utterance_id) for utterance_id in self.utterances]
        return [*cancels, self._answer('operator_stopped_speech', c, now)]

    def _operator_pause_greeting(self, c: OperatorControl, now: float) -> list[Action]:
        self.staff.greeting_paused = True
        return [self._answer('greeting_paused', c, now)]

    def _operator_resume_greeting(self, c: OperatorControl, now: float) -> list[Action]:
        self.staff.greeting_paused = False
        actions: list[Action] = [self._answer('greeting_resumed', c, now)]
        # Someone who engaged while greetings were paused is still standing there: greeted (or, if greeted
        # before, offered help) now, the closest first, as if they had just engaged.
        standing = [v for v in self.visitors.values() if v.engaged and (
            v.stage is Stage.SEEN or (v.stage is Stage.WAITING and self.addressed is None))]
        if standing:
            actions += self._on_engaged(min(standing, key=lambda v: v.distance_m), now)
        return actions

    def _operator_watch(self, c: OperatorControl, now: float) -> list[Action]:
        if c.watching is None:
            return [self._answer('operator_refused', c, now, detail='watch needs watching true or false')]
        self.staff.watched = c.watching      # the aggregate: anyone watching, not c.operator's own view
        return [self._answer('operator_watch', c, now, text='watching' if c.watching else 'not watching'),
                *self._restaff(now)]

    def _on_operator_words(self, event: SpeechEvent, visitor_id: str, now: float) -> list[Action]:
        """A speech event about an operator's words: the banner follows them; the visitor's listening clock
        restarts when they have been said (as after a prompt)."""
        if event.type == 'utterance_started':
            self.started.add(event.id)
            if event.id in self.operator_words:   # playing now: its time runs from its expected end
                self.operator_words[event.id] = now + (event.duration_s or 0.0)
        if event.type not in ENDED:
            return []
        self.utterances.pop(event.id, None)
        self.started.discard(event.id)
        self.operator_words.pop(event.id, None)
        visitor = self.visitors.get(visitor_id)
        if visitor is not None and visitor.stage is Stage.LISTENING:
            visitor.listening_since = now
        return self._restaff(now)

    def _answer(self, kind: str, c: OperatorControl, now: float, **fields) -> Emit:
        """The one answer to an operator's command (the telepresence node turns it into the console's ack)."""
        visitor = self.visitors.get(self.addressed or '')
        fields.setdefault('detail', c.operator)
        fields.setdefault('language', visitor.language if visitor is not None else None)
        return Emit(kind, {'t': round(now, 4), 'visitor': visitor.id if visitor is not None else None,
                           'utterance': c.command_id, **fields})

    def _staff_requested(self, visitor: Visitor, now: float, source: str, intent: str | None,
                         actions_: Sequence[ScreenAction]) -> list[Action]:
        """The operators are told once per conversation that this visitor wants a staff member: the assistant
        passed their request on (call_staff), or the robot said the canned answer, which promises one (with
        the backend unreachable, the console's alert is the only way a person learns of it)."""
        called = intent == 'call_staff' or any(a.type == 'call_staff' for a in actions_)
        canned = source == 'canned' or intent == FALLBACK_INTENT
        if visitor.staff_requested or not (called or canned):
            return []
        visitor.staff_requested = True
        why = 'the assistant called staff' if called else 'canned answer: the robot said a staff member will come'
        return [self._emit('staff_requested', now, visitor, text=visitor.question, intent=intent, source=source,
                           detail=why)]

    def tick(self, now: float) -> list[Action]:
        actions: list[Action] = []
        self._forget_departed(now)
        for visitor in list(self.visitors.values()):
            actions += self._stage_timeout(visitor, now)
        visitor = self.visitors.get(self.addressed or '')
        # Held by an operator: no prompt and no farewell for silence. The visitor is reading or waiting for
        # a person who types; only leaving (the camera) ends the conversation, or the operator hands back.
        if self.staff.holder is not None and now - self.staff.active_at >= self.config.operator_idle_s:
            actions += self._hold_lapsed(now)
        held = self.staff.holder is not None
        expired = [u for u, since in self.operator_words.items() if now - since >= self.config.speech_timeout_s]
        if expired:
            # Like a stage's speech_timeout_s: tts never said these were over (lost, or a tts restart), so
            # they are taken as over, else the 'speaking' banner would stay up for nobody.
            for utterance_id in expired:
                del self.operator_words[utterance_id]
                self.utterances.pop(utterance_id, None)
                self.started.discard(utterance_id)
            actions += self._restaff(now)
        if (not held and visitor is not None and visitor.stage is Stage.LISTENING
                and visitor.listening_since is not None):
            if now - visitor.listening_since >= self.config.listen_timeout_s:
                if not visitor.prompted:
                    visitor.prompted = True
                    visitor.listening_since = None   # restarts when the prompt has been said
                    actions.append(self._say(visitor, *self._prompt(visitor), 'prompt'))
                else:
                    actions += self._farewell(visitor, now, leaving=False)
        return actions + self._attract(now)

    def start(self, now: float) -> list[Action]:
        """What the robot shows before anyone comes: the attract card."""
        return self._attract(now)

    # --- the screen -----------------------------------------------------------------------------
    def _show(self, card: Show, now: float) -> list[Action]:
        card = card._replace(staff=self._staff_shown())
        if card == self.card:
            return []
        if self.card is None or card._replace(staff=None) != self.card._replace(staff=None):
            self.card_since = now     # a new card (not the same one with the staff banner changed)
        self.card = card
        return [card]

    def _staff_shown(self) -> str | None:
        """The screen's staff banner: 'speaking' while an operator holds the conversation or their words are
        queued or playing, else 'watching' while anyone has the robot's view open."""
        if self.staff.holder is not None or any(purpose == OPERATOR for purpose, _ in self.utterances.values()):
            return 'speaking'
        return 'watching' if self.staff.watched else None

    def _restaff(self, now: float) -> list[Action]:
        """The current card again if its staff banner changed."""
        return self._show(self.card, now) if self.card is not None else []

    def _card_for(self, visitor: Visitor) -> Show:
        """The listening card (or the stage's) for the addressed visitor, with what the robot can hear."""
        if visitor.stage is Stage.THINKING:
            return Show('thinking', visitor.id, visitor.language)
        can_hear = None if visitor.language is None else visitor.language in self.hearable
        return Show('listening', visitor.id, visitor.language, can_hear=can_hear)

    def _attract(self, now: float) -> list[Action]:
        """Nobody addressed and no goodbye playing (or it has had its time): the attract card."""
        if self.addressed is not None or (self.card is not None and self.card.kind == 'attract'):
            return []
        farewell_playing = any(purpose == 'farewell' for purpose, _ in self.utterances.values())
        if farewell_playing and now - self.card_since < self.config.speech_timeout_s:
            return []
        return self._show(Show('attract'), now)

    def _prompt(self, visitor: Visitor) -> tuple[str, str]:
        """(phrase key, language) of the prompt to speak: "please type on my screen" only in the visitor's own
        language once it is known and cannot be heard; else "please ask", in the greeting's language when
        the visitor's is unknown."""
        if visitor.language is None:
            return 'listening_prompt', self.config.opener_languages[0]
        return ('listening_prompt' if visitor.language in self.hearable else 'use_screen'), visitor.language

    # --- internals ------------------------------------------------------------------------------
    def _enter(self, visitor: Visitor, stage: Stage, now: float) -> None:
        visitor.stage, visitor.stage_since = stage, now

    def _stage_timeout(self, visitor: Visitor, now: float) -> list[Action]:
        """Move a conversation on whose stage has waited too long (tts or the assistant never answered)."""
        if visitor.stage is Stage.THINKING:
            if now - visitor.stage_since < self.config.thinking_timeout_s:
                return []
            language, canned = self._language(visitor), self.canned(self._language(visitor))
            return [Abandon(visitor.id), *self.on_reply(visitor.id, canned, language, FALLBACK_INTENT, [], False,
                                                        'canned', now, spoken=spoken_form(canned, language))]
        quiet = now - max(visitor.stage_since, visitor.progress_at, visitor.speech_until)
        if quiet < self.config.speech_timeout_s:
            return []
        visitor.progress_at = now
        if visitor.stage is Stage.GREETING:
            group = self.groups.get(visitor.group)
            return self._greeting_done(group, visitor, now) if group is not None else []
        if visitor.stage is Stage.ANSWERING:
            return [self._emit('answer_finished', now, visitor, detail='timeout: no word from tts'),
                    *self._start_listening(visitor, now)]
        if visitor.stage is Stage.LISTENING and visitor.listening_since is None:
            visitor.listening_since = now          # the prompt was never reported: listen from now
        elif visitor.stage is Stage.FAREWELL and not visitor.farewell_done:
            visitor.farewell_done = True
            return [self._emit('farewell_finished', now, visitor, detail='timeout: no word from tts')]
        return []

    def _greeting_done(self, group: Group, visitor: Visitor, now: float) -> list[Action]:
        """The group's greeting is over (said, lost, or timed out): members wait, the addressed one is heard."""
        if group.greeting_done:
            return []
        group.greeting_done = True
        actions: list[Action] = [self._emit('greeting_finished', now, visitor, group=list(group.members))]
        for member_id in group.members:
            member = self.visitors.get(member_id)
            if member is not None and member.stage is Stage.GREETING:
                self._enter(member, Stage.WAITING, now)
        addressed = self.visitors.get(self.addressed or '')
        if addressed is not None and addressed.id in group.members and addressed.stage is Stage.WAITING:
            actions += self._start_listening(addressed, now)
        return actions

    def _on_engaged(self, visitor: Visitor, now: float) -> list[Action]:
        if self.staff.greeting_paused:   # nobody new is greeted or offered help (resume_greeting catches up)
            return []
        if visitor.greeted or visitor.stage is not Stage.SEEN:
            if self.addressed is None and visitor.stage is Stage.WAITING:
                return self._address(visitor, now)
            return []
        # Engaging just after a greeting (a crowd): that greeting was for them too.
        recent = self._latest_group()
        if recent is not None and now - recent.started < self.config.greeting_cooldown_s:
            recent.members.append(visitor.id)
            visitor.group, visitor.greeted = recent.id, True
            self._enter(visitor, Stage.WAITING, now)
            if self.addressed is None:
                return self._address(visitor, now)
            return [self._emit('asked_to_wait', now, visitor, detail=f'joined group {recent.id}')]
        # Greet now, together with whoever is approaching alongside.
        companions = [v for v in self.visitors.values()
                      if v is not visitor and v.stage is Stage.SEEN and not v.greeted
                      and v.distance_m <= self.config.group_distance_m]
        group = Group(f'g{next(self._group_ids)}', [visitor.id] + [v.id for v in companions], now)
        self.groups[group.id] = group
        for member in (visitor, *companions):
            member.group, member.greeted = group.id, True
            self._enter(member, Stage.GREETING, now)
        return self._greet(group, now)

    def _greet(self, group: Group, now: float) -> list[Action]:
        members = [self.visitors[m] for m in group.members]
        primary = min(members, key=lambda v: v.distance_m)   # the closest one is addressed
        busy = self.addressed is not None
        if self.chosen is not None and not primary.language and now - self.chosen[1] <= CHOICE_KEPT_S:
            primary.language = primary.speech.language = self.chosen[0]   # tapped just before engaging
            primary.speech.source = 'kiosk'
        self.chosen = None
        languages = [primary.language] if primary.language else list(self.config.opener_languages)
        # Spoken: a hello of about a second; the welcome, the picker and the menu are on the screen.
        key = 'group_hello' if len(members) > 1 else 'hello'
        actions: list[Action] = [self._say(primary, key, languages[0], 'greeting')]
        # A new arrival matters more than a goodbye to someone walking away.
        if any(self.utterances.get(u, ('', ''))[0] == 'farewell' for u in self.started):
            first = actions[0]
            actions[0] = first._replace(interrupt=True)
        if busy:
            actions.append(self._say(primary, 'please_wait', languages[0], 'greeting'))
            for member in members:
                actions.append(self._emit('asked_to_wait', now, member))
        else:
            self.addressed = primary.id
            if primary.language and primary.language not in self.hearable:   # chosen on the screen
                actions.append(self._say(primary, 'use_screen', primary.language, 'greeting'))
        group.greeting_ids = [a.id for a in actions if isinstance(a, Say)]
        if not busy:
            actions += self._show(Show('greeting', primary.id, primary.language, languages=tuple(
                languages if primary.language else self.config.opener_languages)), now)
        return actions

    def _address(self, visitor: Visitor, now: float) -> list[Action]:
        self.addressed = visitor.id
        return [self._say(visitor, *self._prompt(visitor), 'prompt'), *self._start_listening(visitor, now)]

    def _start_listening(self, visitor: Visitor, now: float) -> list[Action]:
        self._enter(visitor, Stage.LISTENING, now)
        visitor.listening_since = now
        actions: list[Action] = []
        if visitor.id != self.conversation:   # the same visitor again keeps their language and voice
            self.conversation = visitor.id
            actions.append(StartConversation(visitor.id, visitor.language, tuple(self.config.opener_languages)))
        group = self.groups.get(visitor.group)
        actions.append(self._emit('listening_started', now, visitor, language=visitor.language,
                                  group=list(group.members) if group else []))
        return actions + (self._show(self._card_for(visitor), now) if visitor.id == self.addressed else [])

    def _on_left(self, visitor: Visitor, now: float) -> list[Action]:
        actions: list[Action] = [self._emit('visitor_left', now, visitor)]
        was_addressed = self.addressed == visitor.id
        if visitor.stage is Stage.THINKING or was_addressed:
            actions.append(EndVisit(visitor.id))
        group = self.groups.get(visitor.group)
        others_here = group is not None and any(
            m in self.visitors and self.visitors[m].stage is not Stage.LEFT for m in group.members if m != visitor.id)
        # Nobody is listening to these any more; a greeting goes on while the rest of the group is here.
        purposes = ('prompt', 'not_understood', 'filler', 'answer') + (() if others_here else ('greeting',))
        actions += self._cancel_pending({visitor.id}, purposes, including_playing=True)
        if visitor.greeted and group is not None and not others_here and not group.farewell_said:
            actions += self._farewell(visitor, now, leaving=True)
        self._enter(visitor, Stage.LEFT, now)
        visitor.left_at = now
        if was_addressed:
            self.addressed = None
            actions += self._address_next(now)
        return actions

    def _address_next(self, now: float) -> list[Action]:
        waiting = [v for v in self.visitors.values() if v.stage is Stage.WAITING and v.engaged]
        if not waiting:
            return []
        return self._address(min(waiting, key=lambda v: v.distance_m), now)

    def _farewell(self, visitor: Visitor, now: float, leaving: bool) -> list[Action]:
        group = self.groups.get(visitor.group)
        if group is not None:
            if group.farewell_said:
                return []
            group.farewell_said = True
        language = visitor.language or next(
            (self.visitors[m].language for m in (group.members if group else ())
             if m in self.visitors and self.visitors[m].language), None) or self.config.default_language
        visitor.farewell_done = False
        actions: list[Action] = [self._say(visitor, 'farewell', language, 'farewell')]
        if self.addressed == visitor.id or self.addressed is None:
            actions += self._show(Show('farewell', visitor.id, language), now)
        if not leaving:
            self._enter(visitor, Stage.FAREWELL, now)
            actions.append(EndVisit(visitor.id))
            if self.addressed == visitor.id:
                self.addressed = None
                actions += self._address_next(now)
        return actions

    def _forget_departed(self, now: float) -> None:
        for visitor_id, visitor in list(self.visitors.items()):
            if visitor.left_at is not None and now - visitor.left_at > self.config.forget_after_s:
                del self.visitors[visitor_id]
        latest = self._latest_group()
        for group_id, group in list(self.groups.items()):
            if group is not latest and not any(m in self.visitors for m in group.members):
                del self.groups[group_id]

    def _cancel_pending(self, owners: set[str], purposes: tuple[str, ...], including_playing: bool
                        ) -> list[Action]:
        """Cancel the utterances of these owners and purposes; a playing one only if asked (the
        visitor left: nobody is listening any more)."""
        return [Cancel(utterance_id) for utterance_id, (purpose, owner) in self.utterances.items()
                if owner in owners and purpose in purposes
                and (including_playing or utterance_id not in self.started)]

    def _latest_group(self) -> Group | None:
        return max(self.groups.values(), key=lambda g: g.started, default=None)

    def _language(self, visitor: Visitor) -> str:
        return visitor.language or self.config.default_language

    def _say(self, visitor: Visitor, key: str, language: str, purpose: str) -> Say:
        return self._say_text(visitor, self.phrase(key, language), language, purpose)

    def _say_text(self, visitor: Visitor, text: str, language: str, purpose: str,
                  extra: dict | None = None) -> Say:
        utterance_id = f'{visitor.id}-{purpose}-{next(self._ids)}'
        self.utterances[utterance_id] = (purpose, visitor.id)
        priority = PRIORITY_HIGH if purpose == 'answer' else PRIORITY_NORMAL
        return Say(utterance_id, text, language, priority,
                   {'visitor': visitor.id, 'purpose': purpose, **(extra or {})})

    def _emit(self, kind: str, now: float, visitor: Visitor, **fields) -> Emit:
        fields.setdefault('language', visitor.language)
        return Emit(kind, {'t': round(now, 4), 'visitor': visitor.id, **fields})
