"""TelepresenceCore: the robot's typed messages in, fleet events out; operator commands in, OperatorControl out.

Pure and clock-fed (every method takes `now`; no rclpy, no threads): the telepresence node feeds it what it
hears on the robot's topics and what the RobotLink verified, and sends what it returns. It keeps:
- the state the heartbeat reports (greeting paused, takeover owner, watchers, conversation, screen, speech,
  diagnostics). The interaction node is the authority on takeover and pause: the core only mirrors its
  operator_* / greeting_* events, never decides them;
- each command until the interaction node answers it (an InteractionEvent whose `utterance` is the
  command_id), then an `ack`; `watch` and `acknowledge_alert` are answered here at once; a command nobody
  answers within command_timeout_s is acked with 'no answer from the robot';
- alerts (staff requested, backend down, no camera / microphone, a visitor waiting) and their clearing;
- the conversation being held, summarised in `conversation_ended`; counters for the last window;
- an outbox for while the console link is down: events queue (bounded; when full the oldest non-alert goes
  first) and are delivered, alerts first, when it returns. State (heartbeat) and thumbnails are not queued:
  only their newest value means anything.
"""
from __future__ import annotations

import uuid
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Iterable

from pydantic import ValidationError

from caexpo_robot.backend.contract import FALLBACK_INTENT
from caexpo_robot.fleet import protocol as p
from caexpo_robot.messages import HeardSpeech, InteractionEvent, OperatorControl, ScreenCard, SpeechEvent

OK, WARN, ERROR, STALE = 0, 1, 2, 3
# InteractionEvent types that answer an OperatorControl (utterance = its command_id).
CONFIRMS = {'operator_took_over', 'operator_handed_back', 'operator_said', 'greeting_paused', 'greeting_resumed',
            'operator_stopped_speech', 'operator_watch'}
# Robot → console kinds worth delivering late; heartbeats and thumbnails are only ever "now".
QUEUED_KINDS = frozenset({'utterance', 'reply', 'alert', 'alert_cleared', 'conversation_ended', 'counters', 'ack'})
ALERT_KINDS = frozenset({'alert', 'alert_cleared'})
NO_ANSWER = 'no answer from the robot'
# Open and acknowledged alert ids kept at most: beyond, the oldest go (counted in drops), so a robot up for
# days with nobody acknowledging cannot grow them (nor the repeats) without bound.
MAX_ALERTS = 200


@dataclass(frozen=True)
class TelepresenceConfig:
    heartbeat_s: float = 1.0          # state to the console this often
    counters_s: float = 60.0          # anonymous counters window
    command_timeout_s: float = 3.0    # a command the interaction node does not answer in this is acked as failed
    visitor_waiting_s: float = 20.0   # an engaged visitor left this long without a greeting or answer: alert
    diagnostics_after_s: float = 5.0  # a device / backend condition must last this long to raise an alert
    diagnostics_stale_s: float = 5.0  # a node not reporting for this long is STALE (and its device missing)
    thumbnail_s: float = 1.0          # while watched: one thumbnail per this
    queue_capacity: int = 500         # events kept while the console link is down
    alert_repeat_s: float = 15.0      # an open alert nobody acknowledged is sent again this often (see tick)
    watch_ttl_s: float = 30.0         # a watcher the console has not confirmed for this long is forgotten
    handoff_timeout_s: float = 90.0   # staff requested and nobody acknowledged it this long: handoff_failed

    def __post_init__(self) -> None:
        for name in ('heartbeat_s', 'counters_s', 'command_timeout_s', 'visitor_waiting_s', 'diagnostics_stale_s',
                     'thumbnail_s', 'alert_repeat_s', 'watch_ttl_s', 'handoff_timeout_s'):
            if not getattr(self, name) > 0:
                raise ValueError(f'{name} must be > 0, got {getattr(self, name)!r}')
        if not self.diagnostics_after_s >= 0 or self.queue_capacity < 1:
            raise ValueError('diagnostics_after_s must be >= 0 and queue_capacity >= 1')


@dataclass(frozen=True)
class FleetEvent:
    """One robot → console event: its kind and its protocol body model."""
    kind: str
    body: p.Body


@dataclass(frozen=True)
class DiagnosticReport:
    """One status of the robot's /diagnostics (the node keeps only this robot's, by namespace)."""
    name: str
    level: int          # 0 OK, 1 WARN, 2 ERROR, 3 STALE (diagnostic_msgs)
    message: str


@dataclass
class _Pending:
    kind: str
    operator: str
    at: float
    text: str | None = None


@dataclass
class _Conversation:
    id: str
    visitor: str
    started_at: float
    language: str | None = None
    turns: int = 0
    intents: list[str] = field(default_factory=list)
    answered: int = 0
    unanswered: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    question: tuple[str, float] | None = None      # the question waiting for its answer, and when asked
    waiting_since: float | None = None             # the visitor waits for the robot (greeting or answer)
    waiting_alert: str | None = None
    staff_alerts: list[str] = field(default_factory=list)   # staff_requested alerts raised in it
    staff_requested_at: float | None = None        # the first of them, for handoff_failed
    handoff_alert: str | None = None               # handoff_failed raised for it


@dataclass
class _Condition:
    since: float | None = None      # when the condition was first seen holding (None: not holding)
    alert_id: str | None = None     # the alert raised for it, until cleared


# alert type -> (node name suffix in /diagnostics, the condition on that node's status)
def _backend_down(report: DiagnosticReport) -> bool:
    return report.level >= WARN and 'assistant backend' in report.message


def _device_missing(report: DiagnosticReport) -> bool:
    return report.level >= WARN


DIAGNOSTIC_ALERTS = {'backend_down': ('/interaction', _backend_down), 'no_camera': ('/camera', _device_missing),
                     'no_microphone': ('/microphone', _device_missing)}


class TelepresenceCore:
    def __init__(self, config: TelepresenceConfig = TelepresenceConfig(), link_up: bool = True) -> None:
        self.config = config
        self.link_up = link_up
        self.greeting_paused = False
        self.takeover_owner: str | None = None
        self.watchers: set[str] = set()
        self._watched_at: dict[str, float] = {}     # watcher -> when the console last said they watch
        self.watchers_expired = 0
        self.screen: str | None = None
        self.card: ScreenCard | None = None
        self.speaking: set[str] = set()             # utterance ids playing now
        self.conversation: _Conversation | None = None
        self.visitor_language: str | None = None
        self.pending: dict[str, _Pending] = {}
        self.alerts: dict[str, p.Alert] = {}        # raised, not acknowledged, not cleared (repeated in tick)
        self.acknowledged: dict[str, None] = {}     # acknowledged ids, oldest first (a second ack is still ok)
        self.conditions = {kind: _Condition() for kind in DIAGNOSTIC_ALERTS}
        self.diagnostics: dict[str, tuple[DiagnosticReport, float]] = {}
        self.window = Counter()                     # seen, engaged, served in this counters window
        self.languages: Counter[str] = Counter()
        self.counted_visitors: set[str] = set()
        self.queue: deque[FleetEvent] = deque()
        self.drops: Counter[str] = Counter()        # what was refused or lost, by reason
        self._next_heartbeat: float | None = None
        self._alerts_repeated_at: float | None = None
        self.alerts_repeated = 0
        self._window_start: float | None = None
        self._next_thumbnail = 0.0
        self._ready: list[FleetEvent | OperatorControl] = []

    # --- the outbox ---------------------------------------------------------------------------------------
    def _send(self, kind: str, body: p.Body) -> None:
        event = FleetEvent(kind, body)
        if self.link_up:
            self._ready.append(event)
        elif kind in QUEUED_KINDS:
            self._queue(event)
        else:
            self.drops[f'link_down_{kind}'] += 1

    def _queue(self, event: FleetEvent) -> None:
        if len(self.queue) >= self.config.queue_capacity:
            # Alerts are kept first: the oldest event that is not an alert makes room (the oldest alert only
            # when there is nothing else).
            victim = next((e for e in self.queue if e.kind not in ALERT_KINDS), self.queue[0])
            self.queue.remove(victim)
            self.drops[f'queue_full_{victim.kind}'] += 1
        self.queue.append(event)

    def _take(self) -> list[FleetEvent | OperatorControl]:
        out, self._ready = self._ready, []
        return out

    def set_link(self, up: bool, now: float) -> list[FleetEvent | OperatorControl]:
        """The console link went up or down. Up: the queue is delivered, alerts first, then in order. Down:
        nobody can watch any more, so the watchers are forgotten (the console re-sends `watch` for the views
        open when the robot is back) and the robot's screen stops saying a staff member watches."""
        if up == self.link_up:
            return []
        self.link_up = up
        if up:
            queued, self.queue = list(self.queue), deque()
            self._ready += [e for e in queued if e.kind in ALERT_KINDS] + [e for e in queued
                                                                            if e.kind not in ALERT_KINDS]
            self._heartbeat(now)
        elif self.watchers:
            last = sorted(self.watchers)[0]
            self.watchers.clear()
            self._watched_at.clear()
            self._ready.append(OperatorControl(t=now, command='watch', command_id=uuid.uuid4().hex,
                                               operator=last, watching=False))
        return self._take()

    # --- the robot's messages -----------------------------------------------------------------------------
    def on_interaction_event(self, event: InteractionEvent, now: float) -> list[FleetEvent | OperatorControl]:
        kind = event.type
        if event.utterance in self.pending and (kind in CONFIRMS or kind == 'operator_refused'):
            self._answer_command(event, now)
        elif kind in ('operator_took_over', 'operator_handed_back', 'greeting_paused', 'greeting_resumed'):
            self._mirror(event, event.detail)       # not ours (another command path): still the authority
        if kind == 'visitor_detected' and event.visitor not in self.counted_visitors:
            self.counted_visitors.add(event.visitor or '')
            self.window['seen'] += 1
        elif kind == 'visitor_engaged':
            self.window['engaged'] += 1
            if self.conversation is None:       # someone joining a conversation does not start another
                conversation = self._conversation_for(event.visitor, now)
                conversation.waiting_since = now      # until greeted (a paused greeting leaves them waiting)
        elif kind in ('greeting_started', 'listening_started', 'question_sent', 'language_identified'):
            conversation = self._conversation_for(event.visitor, now)
            if conversation is not None:
                if event.language:
                    conversation.language = self.visitor_language = event.language
                if kind == 'greeting_started':
                    self._stop_waiting(conversation)
                elif kind == 'question_sent':
                    conversation.turns += 1
                    conversation.question = (event.text or '', now)
                    conversation.waiting_since = now
        elif kind == 'utterance_heard' and event.source == 'kiosk' and event.text:
            # typed or tapped on the screen: no HeardSpeech carries it
            self._utterance('visitor', event.text, event.language, True, event.confidence, None, None)
        elif kind == 'staff_requested':
            alert_id = self._raise('staff_requested', now, visitor=event.visitor, language=event.language,
                                   detail=event.text)
            if self.conversation is not None and event.visitor in (None, self.conversation.visitor):
                self.conversation.staff_alerts.append(alert_id)   # cleared when it ends, if nobody answered
                if self.conversation.staff_requested_at is None:
                    self.conversation.staff_requested_at = now
        elif kind in ('visitor_left', 'farewell_finished') and self.conversation is not None \
                and event.visitor == self.conversation.visitor:
            self._end_conversation(now)
        return self._take()

    def on_heard(self, heard: HeardSpeech, now: float) -> list[FleetEvent | OperatorControl]:
        """The visitor's words as recognised, partial and final."""
        if heard.text.strip():
            self._utterance('visitor', heard.text, heard.language, heard.final, heard.confidence, None, None)
        return self._take()

    def on_speech_event(self, event: SpeechEvent, now: float) -> list[FleetEvent | OperatorControl]:
        """What the robot says (the tts node's events): robot utterances and the assistant's replies."""
        if event.type == 'utterance_started':
            self.speaking.add(event.id)
            operator = event.tag.purpose.startswith('operator')   # reported from the operator_said event
            if event.text and not operator:
                self._utterance('robot', event.text, event.spoken_language or event.language, True, None, event.id,
                                None)
            if event.tag.purpose == 'answer':
                self._reply(event, now)
        elif event.type in ('utterance_finished', 'utterance_cancelled', 'utterance_failed', 'utterance_dropped'):
            self.speaking.discard(event.id)
        return self._take()

    def on_screen(self, card: ScreenCard, now: float) -> list[FleetEvent | OperatorControl]:
        self.card, self.screen = card, card.kind
        if card.language:
            self.visitor_language = card.language
        return []

    def on_diagnostics(self, reports: Iterable[DiagnosticReport], now: float) -> list[FleetEvent | OperatorControl]:
        for report in reports:
            self.diagnostics[report.name] = (report, now)
        self._check_conditions(now)
        return self._take()

    # --- the console's commands ---------------------------------------------------------------------------
    def on_command(self, kind: str, body: p.Command, now: float) -> list[FleetEvent | OperatorControl]:
        """A verified command (protocol body of `kind`): OperatorControl for the interaction node, or an ack."""
        if kind not in p.COMMAND_KINDS or not isinstance(body, p.COMMAND_KINDS[kind]):
            self.drops['unknown_command'] += 1
            if isinstance(body, p.Command):
                self._ack(body.command_id, False, f'unknown command {kind[:32]!r}')
            return self._take()
        if body.command_id in self.pending:
            self.drops['duplicate_command'] += 1
            return []
        if kind == 'acknowledge_alert':
            known = body.alert_id in self.alerts or body.alert_id in self.acknowledged
            if known:
                # Acknowledged: no more repeats and nothing to keep open (the console's ack closed it there).
                self.alerts.pop(body.alert_id, None)
                self.acknowledged[body.alert_id] = None
                self._cap(self.acknowledged, 'acknowledged_full')
            self._ack(body.command_id, known, None if known else 'unknown alert')
            return self._take()
        fields = {}
        if kind == 'say':
            fields = {'text': body.text, 'language': body.language}
        elif kind == 'hand_back':
            fields = {'force': body.force}
        elif kind == 'watch':
            refresh = body.watching and body.operator in self.watchers
            if body.watching:
                self._watched_at[body.operator] = now
            else:
                self._watched_at.pop(body.operator, None)
            if refresh:   # the console confirming a view still open (every ~10 s): only its time changes
                self._ack(body.command_id, True, None)
                return self._take()
            # The interaction node shows "a staff member is watching" while anyone watches: it gets the
            # aggregate, so one operator closing the view does not hide the banner while another watches.
            (self.watchers.add if body.watching else self.watchers.discard)(body.operator)
            fields = {'watching': bool(self.watchers)}
        try:
            control = OperatorControl(t=now, command=kind, command_id=body.command_id, operator=body.operator,
                                      **fields)
        except ValidationError as exc:
            self.drops['invalid_command'] += 1
            self._ack(body.command_id, False, f'invalid: {exc.errors(include_url=False)[0]["msg"]}'[:200])
            return self._take()
        self._ready.append(control)
        if kind == 'watch':
            self._ack(body.command_id, True, None)
            if body.watching:
                self._next_thumbnail = now      # the first thumbnail at once
        else:
            self.pending[body.command_id] = _Pending(kind, body.operator, now, fields.get('text'))
        return self._take()

    def _answer_command(self, event: InteractionEvent, now: float) -> None:
        pending = self.pending.pop(event.utterance or '')
        if event.type == 'operator_refused':
            self._ack(event.utterance, False, (event.detail or 'refused')[:500])
            return
        self._mirror(event, pending.operator)
        if event.type == 'operator_said':
            text = event.text or pending.text or ''
            self._utterance('operator', text, event.language, True, None, event.utterance, pending.operator)
            conversation = self.conversation
            if conversation is not None and conversation.question is not None:
                # the operator answered the visitor's question: answered, with its latency
                conversation.latencies_ms.append(round((now - conversation.question[1]) * 1000.0, 1))
                conversation.answered += 1
                conversation.question = None
            if conversation is not None:
                self._stop_waiting(conversation)
        self._ack(event.utterance, True, None)

    def _mirror(self, event: InteractionEvent, operator: str | None) -> None:
        if event.type == 'operator_took_over':
            self.takeover_owner = (operator or event.detail or 'operator')[:64]
        elif event.type == 'operator_handed_back':
            self.takeover_owner = None
        elif event.type in ('greeting_paused', 'greeting_resumed'):
            self.greeting_paused = event.type == 'greeting_paused'

    def _ack(self, command_id: str, ok: bool, error: str | None) -> None:
        self._send('ack', p.Ack(command_id=command_id, ok=ok, error=error))

    # --- the clock ----------------------------------------------------------------------------------------
    def tick(self, now: float) -> list[FleetEvent | OperatorControl]:
        """Heartbeat, counters, command timeouts, a visitor left waiting, stale diagnostics."""
        if self._next_heartbeat is None or now >= self._next_heartbeat:
            self._heartbeat(now)
        if self._window_start is None:
            self._window_start = now
        elif now - self._window_start >= self.config.counters_s:
            self._send('counters', p.Counters(window_s=round(now - self._window_start, 3), **{
                k: self.window[k] for k in ('seen', 'engaged', 'served')}, languages=dict(self.languages)))
            self.window.clear()
            self.languages.clear()
            self.counted_visitors.clear()
            self._window_start = now
        expired = sorted(op for op, at in self._watched_at.items() if now - at >= self.config.watch_ttl_s)
        if expired:
            # A console that died (or lost the link) without saying "stopped watching": its operators are
            # forgotten, so no thumbnail flows and no "staff member watching" banner stays up for nobody.
            for operator in expired:
                del self._watched_at[operator]
                self.watchers.discard(operator)
            self.watchers_expired += len(expired)
            self._ready.append(OperatorControl(t=now, command='watch', command_id=uuid.uuid4().hex,
                                               operator=expired[0], watching=bool(self.watchers)))
        if self._alerts_repeated_at is None:
            self._alerts_repeated_at = now
        if self.link_up and self.alerts and now - self._alerts_repeated_at >= self.config.alert_repeat_s:
            # At least once: a link that is open does not mean a console hears it (Zenoh drops what no one
            # subscribes to; console_presence is off by default). The console keeps an alert id once, so a
            # repeat until someone acknowledges it reaches a console that was down or restarted when it was raised.
            self._alerts_repeated_at = now
            for alert_id, alert in self.alerts.items():
                if alert_id not in self.acknowledged:
                    self._send('alert', alert)
                    self.alerts_repeated += 1
        for command_id, pending in list(self.pending.items()):
            if now - pending.at >= self.config.command_timeout_s:
                del self.pending[command_id]
                self.drops['command_timeout'] += 1
                self._ack(command_id, False, NO_ANSWER)
        conversation = self.conversation
        if conversation is not None and conversation.waiting_since is not None and conversation.waiting_alert is None \
                and now - conversation.waiting_since >= self.config.visitor_waiting_s:
            waited = now - conversation.waiting_since
            what = f'asked "{conversation.question[0][:200]}"' if conversation.question else 'not greeted'
            conversation.waiting_alert = self._raise('visitor_waiting', now, visitor=conversation.visitor,
                                                     language=conversation.language,
                                                     detail=f'waiting {waited:.0f} s: {what}')
        if conversation is not None and conversation.staff_requested_at is not None \
                and conversation.handoff_alert is None \
                and now - conversation.staff_requested_at >= self.config.handoff_timeout_s \
                and any(a in self.alerts for a in conversation.staff_alerts):
            # The robot promised a staff member and nobody took it up: the handoff failed while the visitor still
            # waits. A louder alert than the request itself, cleared when an operator acknowledges the request
            # or the visitor leaves.
            waited = now - conversation.staff_requested_at
            conversation.handoff_alert = self._raise(
                'handoff_failed', now, visitor=conversation.visitor, language=conversation.language,
                detail=f'staff requested {waited:.0f} s ago, nobody acknowledged it')
        if conversation is not None and conversation.handoff_alert is not None \
                and not any(a in self.alerts for a in conversation.staff_alerts):
            self._clear(conversation.handoff_alert)   # the request was acknowledged (or cleared)
            conversation.handoff_alert = None
        self._check_conditions(now)
        return self._take()

    def wants_thumbnail(self, now: float) -> bool:
        """True when a thumbnail is due: someone watches and thumbnail_s has passed since the last."""
        return bool(self.watchers) and self.link_up and now >= self._next_thumbnail

    def on_thumbnail(self, jpeg: bytes, width: int, height: int, faces_blurred: int, stamp: float,
                     now: float) -> list[FleetEvent | OperatorControl]:
        self._next_thumbnail = now + self.config.thumbnail_s
        self._send('thumbnail', p.Thumbnail.of(jpeg, width, height, faces_blurred, stamp))
        return self._take()

    def _heartbeat(self, now: float) -> None:
        self._next_heartbeat = now + self.config.heartbeat_s
        self._send('heartbeat', p.Heartbeat(state=self.state(now)))

    def state(self, now: float) -> p.RobotState:
        items = [p.DiagnosticItem(name=name[:128], level=self._level(report, at, now), message=report.message[:500])
                 for name, (report, at) in sorted(self.diagnostics.items())][:32]
        return p.RobotState(
            greeting_paused=self.greeting_paused, takeover_owner=self.takeover_owner,
            watchers=sorted(self.watchers)[:64],
            conversation=self.conversation.id if self.conversation else None,
            visitor_language=self.visitor_language if self.conversation else None,
            screen=self.screen, speaking=bool(self.speaking),
            diagnostics_level=max((item.level for item in items), default=OK), diagnostics=items)

    def _level(self, report: DiagnosticReport, at: float, now: float) -> int:
        return STALE if now - at > self.config.diagnostics_stale_s else min(max(report.level, OK), STALE)

    # --- conversations ------------------------------------------------------------------------------------
    def _conversation_for(self, visitor: str | None, now: float) -> _Conversation | None:
        if visitor is None:
            return self.conversation
        if self.conversation is not None and self.conversation.visitor == visitor:
            return self.conversation
        if self.conversation is not None:      # the robot turned to someone else: that one is over
            self._end_conversation(now)
        self.conversation = _Conversation(f'{visitor}-{round(now * 1000)}', visitor, now)
        self.visitor_language = None
        return self.conversation

    def _utterance(self, side: str, text: str, language: str | None, final: bool, confidence: float | None,
                   utterance: str | None, operator: str | None) -> None:
        c = self.conversation
        self._send('utterance', p.Utterance(
            side=side, text=text[:p.MAX_TEXT_CHARS], final=final, conversation=c.id if c else None,
            visitor=c.visitor if c else None, language=language, confidence=confidence, utterance=utterance,
            operator=operator))

    def _reply(self, event: SpeechEvent, now: float) -> None:
        card = self.card
        full = card is not None and card.kind == 'answer' and card.visitor == event.tag.visitor and card.text
        text = card.text if full else event.text or ''
        titles = [str(getattr(a, 'title', None) or a.type)[:200] for a in card.actions] if full else []
        c = self.conversation
        self._send('reply', p.Reply(text=text[:p.MAX_TEXT_CHARS], conversation=c.id if c else None,
                                    visitor=event.tag.visitor, intent=event.tag.intent or None,
                                    source=event.tag.source, actions=titles[:50]))
        if c is None or c.question is None:
            return
        question, asked = c.question
        c.question = None
        c.latencies_ms.append(round((now - asked) * 1000.0, 1))
        if event.tag.intent in (None, '', FALLBACK_INTENT) or event.tag.source == 'canned':
            if len(c.unanswered) < 20:
                c.unanswered.append(question[:p.MAX_TEXT_CHARS])
        else:
            c.answered += 1
            if event.tag.intent not in c.intents:
                c.intents.append(event.tag.intent[:64])
        self._stop_waiting(c)

    def _stop_waiting(self, conversation: _Conversation) -> None:
        conversation.waiting_since = None
        if conversation.waiting_alert is not None:
            self._clear(conversation.waiting_alert)
            conversation.waiting_alert = None

    def _end_conversation(self, now: float) -> None:
        c, self.conversation = self.conversation, None
        if c is None:
            return
        self._stop_waiting(c)
        if c.handoff_alert is not None:
            self._clear(c.handoff_alert)
        for alert_id in c.staff_alerts:
            if alert_id in self.alerts:    # nobody acknowledged it and the visitor is gone: nobody to fetch
                self._clear(alert_id)
        if c.answered:
            self.window['served'] += 1
        if c.language:
            self.languages[c.language] += 1
        self.visitor_language = None
        self._send('conversation_ended', p.ConversationEnded(
            conversation=c.id, started_at=c.started_at, ended_at=now, visitor=c.visitor, language=c.language,
            turns=c.turns, intents=c.intents[:200], answered=c.answered, unanswered=c.unanswered,
            latencies_ms=c.latencies_ms[-500:]))

    # --- alerts -------------------------------------------------------------------------------------------
    def _raise(self, kind: str, now: float, visitor: str | None = None, language: str | None = None,
               detail: str | None = None) -> str:
        alert = p.Alert(alert_id=uuid.uuid4().hex, type=kind, visitor=visitor, language=language,
                        detail=detail[:500] if detail else None)
        self.alerts[alert.alert_id] = alert
        self._cap(self.alerts, 'alerts_full')
        self._send('alert', alert)
        return alert.alert_id

    def _cap(self, kept: dict, reason: str) -> None:
        while len(kept) > MAX_ALERTS:
            del kept[next(iter(kept))]     # the oldest
            self.drops[reason] += 1

    def _clear(self, alert_id: str) -> None:
        # An acknowledged alert whose cause ended (a device back, a waiting visitor greeted) is still reported
        # cleared: the console shows the condition is over, not only that someone saw it.
        was_open = self.alerts.pop(alert_id, None) is not None
        was_acknowledged = alert_id in self.acknowledged
        self.acknowledged.pop(alert_id, None)
        if was_open or was_acknowledged:
            self._send('alert_cleared', p.AlertCleared(alert_id=alert_id))

    def _check_conditions(self, now: float) -> None:
        """backend_down / no_camera / no_microphone: raised once the condition has held diagnostics_after_s
        (a camera opening at start is not an alert), cleared when it ends. A node that stopped reporting
        (STALE) counts as its device missing."""
        for kind, (suffix, holds) in DIAGNOSTIC_ALERTS.items():
            entries = [(r, at) for name, (r, at) in self.diagnostics.items() if name.endswith(suffix)]
            holding = any(holds(r) or (kind != 'backend_down' and now - at > self.config.diagnostics_stale_s)
                          for r, at in entries)
            condition = self.conditions[kind]
            if not holding:
                condition.since = None
                if condition.alert_id is not None:
                    self._clear(condition.alert_id)
                    condition.alert_id = None
            elif condition.since is None:
                condition.since = now
            if holding and condition.alert_id is None and now - condition.since >= self.config.diagnostics_after_s:
                message = next((r.message for r, _ in entries if holds(r)), 'not reporting')
                condition.alert_id = self._raise(kind, now, detail=message)
