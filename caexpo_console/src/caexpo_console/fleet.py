"""FleetHub: the console's picture of the fleet, built from verified robot Envelopes (fleet.protocol).

Thread-safe (ConsoleLink calls `handle` on Zenoh's threads, the web server reads on its own); the clock is
injected. Kept in memory: each robot's last state and heartbeat time (online = a heartbeat within
`online_s`), the live transcript ring (last `ring` lines: the operators' view, never written anywhere),
the last thumbnail, the takeover holder (from heartbeats, and from acks of take_over / hand_back sooner).
Written to storage: alerts and their lifecycle, transcript lines masked (redact.py), conversation
summaries, hourly aggregates. Every change is offered to the listeners (the SSE stream) as a small dict.
"""
from __future__ import annotations

import logging
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Protocol

from caexpo_robot.fleet.protocol import Envelope

from . import redact
from .storage import Storage, StorageError

log = logging.getLogger('caexpo_console')
Event = dict[str, Any]


class CommandSender(Protocol):
    """What forwards a command to a robot (the real one: caexpo_robot.fleet.link.ConsoleLink)."""

    def send(self, robot_id: str, kind: str, body: dict) -> None: ...


@dataclass
class RobotView:
    robot_id: str
    entrance: Optional[str] = None
    label: Optional[str] = None
    last_heartbeat: Optional[float] = None     # console clock, when the last heartbeat arrived
    state: dict = field(default_factory=dict)
    holder: Optional[str] = None               # takeover owner
    online: bool = False
    transcript: deque = field(default_factory=deque)
    thumbnail: Optional[dict] = None
    known_names: dict[str, set[str]] = field(default_factory=dict)   # per conversation (masking)


def hour_of(t: float) -> float:
    return float(int(t // 3600) * 3600)


class FleetHub:
    def __init__(self, storage: Storage, clock: Callable[[], float], *, robots: dict[str, dict] | None = None,
                 online_s: float = 5.0, ring: int = 200, escalate_after_s: float = 120.0,
                 retention_s: float = 24 * 3600.0):
        self.storage, self.clock = storage, clock
        self.online_s, self.ring = online_s, ring
        self.escalate_after_s, self.retention_s = escalate_after_s, retention_s
        self._lock = threading.RLock()
        self._robots: dict[str, RobotView] = {}
        for robot_id, info in (robots or {}).items():
            self._robots[robot_id] = RobotView(robot_id, entrance=(info or {}).get('entrance'),
                                               label=(info or {}).get('label'), transcript=deque(maxlen=ring))
        self._pending: dict[str, tuple[str, str, str]] = {}   # command_id -> (robot, kind, operator)
        self._listeners: list[Callable[[Event], None]] = []
        self.counts: Counter = Counter()                       # events by kind, drops by reason

    # -- listeners ----------------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """`listener(event)` for every change from now on (on the caller's thread: hand over, never block);
        returns the unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe():
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:   # one broken listener must not stop the fleet's picture
                self.counts['listener_errors'] += 1
                log.exception('fleet listener failed')

    # -- reads --------------------------------------------------------------------------------------------
    def robot_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._robots)

    def knows(self, robot_id: str) -> bool:
        with self._lock:
            return robot_id in self._robots

    def robot(self, robot_id: str) -> Optional[dict]:
        with self._lock:
            view = self._robots.get(robot_id)
            return None if view is None else self._summary(view)

    def robots(self) -> list[dict]:
        with self._lock:
            return [self._summary(self._robots[r]) for r in sorted(self._robots)]

    def holder(self, robot_id: str) -> Optional[str]:
        with self._lock:
            view = self._robots.get(robot_id)
            return None if view is None else view.holder

    def transcript(self, robot_id: str) -> list[dict]:
        with self._lock:
            view = self._robots.get(robot_id)
            return [] if view is None else list(view.transcript)

    def thumbnail(self, robot_id: str) -> Optional[dict]:
        with self._lock:
            view = self._robots.get(robot_id)
            return None if view is None else view.thumbnail

    def snapshot(self) -> Event:
        return {'type': 'snapshot', 'at': self.clock(), 'robots': self.robots(),
                'alerts': self.storage.alerts(states=('open', 'acknowledged', 'assigned', 'escalated'))}

    def _summary(self, view: RobotView) -> dict:
        now = self.clock()
        age = None if view.last_heartbeat is None else round(now - view.last_heartbeat, 3)
        return {'robot_id': view.robot_id, 'entrance': view.entrance, 'label': view.label,
                'online': age is not None and age <= self.online_s, 'heartbeat_age_s': age,
                'state': view.state, 'holder': view.holder,
                'has_thumbnail': view.thumbnail is not None}

    # -- commands (the app's bookkeeping around CommandSender) --------------------------------------------
    def command_sent(self, robot_id: str, kind: str, command_id: str, operator: str) -> None:
        with self._lock:
            self._pending[command_id] = (robot_id, kind, operator)
            while len(self._pending) > 1000:     # acks lost with an offline robot: keep the newest
                self._pending.pop(next(iter(self._pending)))

    # -- events -------------------------------------------------------------------------------------------
    def handle(self, envelope: Envelope) -> None:
        """One verified event Envelope of a robot. Storage trouble is counted and logged, never raised into
        the link's thread."""
        kind, robot_id = envelope.kind, envelope.robot_id
        body = envelope.body.model_dump(mode='json') if hasattr(envelope.body, 'model_dump') else dict(envelope.body)
        self.counts[f'event_{kind}'] += 1
        try:
            with self._lock:
                view = self._robots.get(robot_id)
                if view is None:   # a robot with a key but not in the robots list: shown all the same
                    view = self._robots[robot_id] = RobotView(robot_id, transcript=deque(maxlen=self.ring))
                handler = getattr(self, f'_on_{kind}', None)
                if handler is None:
                    self.counts['drop_unknown_kind'] += 1
                    return
                handler(view, body, envelope.sent_at)
        except StorageError as exc:
            self.counts['storage_errors'] += 1
            log.warning('fleet event %s of %s not stored: %s', kind, robot_id, exc)

    def _on_heartbeat(self, view: RobotView, body: dict, _sent_at: float) -> None:
        state = body['state']
        changed = state != view.state or not view.online or state.get('takeover_owner') != view.holder
        view.state, view.last_heartbeat, view.online = state, self.clock(), True
        view.holder = state.get('takeover_owner')
        if changed:
            self._emit({'type': 'robot', 'robot': self._summary(view)})

    def _on_utterance(self, view: RobotView, body: dict, sent_at: float) -> None:
        line = {'kind': 'utterance', 'at': sent_at, 'side': body['side'], 'text': body['text'],
                'language': body.get('language'), 'final': body['final'], 'conversation': body.get('conversation'),
                'operator': body.get('operator'), 'confidence': body.get('confidence')}
        if body['final']:
            view.transcript.append(line)
            names = view.known_names.get(body.get('conversation') or '', set())
            self.storage.add_transcript(view.robot_id, body.get('conversation'), body['side'], body.get('language'),
                                        redact.mask(body['text'], body.get('language'), names), self.clock())
        self._emit({'type': 'transcript', 'robot_id': view.robot_id, 'line': line})

    def _on_reply(self, view: RobotView, body: dict, sent_at: float) -> None:
        line = {'kind': 'reply', 'at': sent_at, 'side': 'robot', 'text': body['text'], 'intent': body.get('intent'),
                'source': body.get('source'), 'actions': body.get('actions', []),
                'conversation': body.get('conversation'), 'final': True}
        view.transcript.append(line)
        self._emit({'type': 'transcript', 'robot_id': view.robot_id, 'line': line})

    def _on_alert(self, view: RobotView, body: dict, _sent_at: float) -> None:
        # The detail is the visitor's own words (their question for staff_requested / visitor_waiting) and
        # alerts are kept with no retention: stored masked like the transcripts (names, phones, e-mails).
        detail = body.get('detail')
        if detail is not None:
            names = set().union(*view.known_names.values()) if view.known_names else set()
            detail = redact.mask(detail, body.get('language'), names)
        if self.storage.raise_alert(view.robot_id, body['alert_id'], body['type'], body.get('visitor'),
                                    body.get('language'), detail, self.clock()):
            self._emit({'type': 'alert', 'alert': self.storage.alert(view.robot_id, body['alert_id'])})

    def _on_alert_cleared(self, view: RobotView, body: dict, _sent_at: float) -> None:
        alert = self.storage.update_alert(view.robot_id, body['alert_id'], 'cleared', at=self.clock())
        if alert is not None:
            self._emit({'type': 'alert', 'alert': alert})

    def _on_ack(self, view: RobotView, body: dict, _sent_at: float) -> None:
        pending = self._pending.pop(body['command_id'], None)
        if pending is not None:
            robot_id, kind, operator = pending
            self.storage.audit(self.clock(), operator, f'ack:{kind}', robot_id, {'command_id': body['command_id']},
                               'ok' if body['ok'] else f'refused: {body.get("error") or "?"}', None)
            if body['ok'] and kind in ('take_over', 'hand_back'):   # sooner than the next heartbeat
                view.holder = operator if kind == 'take_over' else None
                self._emit({'type': 'robot', 'robot': self._summary(view)})
        self._emit({'type': 'ack', 'robot_id': view.robot_id, 'ack': body,
                    'command': None if pending is None else pending[1]})

    def _on_thumbnail(self, view: RobotView, body: dict, _sent_at: float) -> None:
        view.thumbnail = {**body, 'received_at': self.clock()}
        self._emit({'type': 'thumbnail', 'robot_id': view.robot_id, 'thumbnail': body})

    def _on_counters(self, view: RobotView, body: dict, sent_at: float) -> None:
        self.storage.add_to_aggregate(view.robot_id, hour_of(sent_at), seen=body['seen'], engaged=body['engaged'],
                                      served=body['served'], languages=body.get('languages') or {})

    def _on_conversation_ended(self, view: RobotView, body: dict, _sent_at: float) -> None:
        conversation = body['conversation']
        names = view.known_names.pop(conversation, set())
        visitor_lines = [line['text'] for line in view.transcript
                         if line.get('conversation') == conversation and line.get('side') == 'visitor'
                         and line['kind'] == 'utterance']
        language = body.get('language')
        masked = [redact.mask(text, language, names) for text in visitor_lines]
        summary = {
            'conversation': conversation, 'language': language, 'intents': body.get('intents', []),
            'keywords': keywords(masked, language), 'summary': extractive_summary(masked),
            'turns': body.get('turns', 0), 'answered': body.get('answered', 0),
            'unanswered': [redact.mask(q, language, names) for q in body.get('unanswered', [])],
            'latencies_ms': body.get('latencies_ms', []), 'started_at': body['started_at'],
            'ended_at': body['ended_at']}
        self.storage.add_conversation(view.robot_id, summary)
        self.storage.add_to_aggregate(view.robot_id, hour_of(body['ended_at']), latencies_ms=summary['latencies_ms'])
        self._emit({'type': 'conversation', 'robot_id': view.robot_id, 'conversation': summary})

    def learn_name(self, robot_id: str, conversation: str, name: str) -> None:
        """A visitor's name the console learnt (e.g. from a booking): masked in that conversation's lines."""
        with self._lock:
            view = self._robots.get(robot_id)
            if view is not None:
                view.known_names.setdefault(conversation, set()).add(name)

    # -- periodic -----------------------------------------------------------------------------------------
    def tick(self) -> None:
        """Offline transitions, alert escalation, transcript retention: call every ~0.5 s."""
        now = self.clock()
        with self._lock:
            for view in self._robots.values():
                if view.online and (view.last_heartbeat is None or now - view.last_heartbeat > self.online_s):
                    view.online = False
                    self._emit({'type': 'robot', 'robot': self._summary(view)})
        try:
            for alert in self.storage.alerts_to_escalate(now - self.escalate_after_s):
                updated = self.storage.update_alert(alert['robot'], alert['id'], 'escalated', at=now)
                self.storage.audit(now, 'console', 'alert_escalated', alert['robot'],
                                   {'alert_id': alert['id'], 'type': alert['type']}, 'escalated', None)
                self._emit({'type': 'alert', 'alert': updated})
            self.purge()
        except StorageError as exc:
            self.counts['storage_errors'] += 1
            log.warning('fleet tick: %s', exc)

    _last_purge: float = float('-inf')

    def purge(self, *, force: bool = False) -> int:
        """Deletes stored transcript lines older than the retention (at most once a minute unless forced)."""
        now = self.clock()
        if not force and now - self._last_purge < 60.0:
            return 0
        self._last_purge = now
        return self.storage.purge_transcripts(now - self.retention_s)


# -- summaries ------------------------------------------------------------------------------------------
_STOP = set('''a an the and or but if to of in on at for from with by is are was were be been am i you he she
it we they me my your our their this that these those what where when how who which can could would should
will do does did please want like know tell need thank thanks hello hi yes no not there here some any about
tôi bạn là và của có không cho với được một những các này đó ở đi muốn xin chào cảm ơn
saya anda dan di ke dari yang ini itu ada tidak mau ingin boleh mana terima kasih apa
ako ikaw ang ng sa na mga ay po ko ba si nasaan gusto salamat'''.split())
_SENTENCES = re.compile(r'(?<=[.!?。！？])\s*|\n+')
_SPACELESS = re.compile(r'[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u4e00-\u9fff\u3040-\u30ff]')
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_CJK_RUN = re.compile(r'[\u4e00-\u9fff]{2,}')
_MASKS = re.compile(r'\[(?:name|phone|email)\]')


def _terms(text: str) -> list[str]:
    """Content words: spaced scripts by words minus stop words; Chinese by character pairs; other spaceless
    scripts (th lo km my) by their space-separated chunks (ASR puts spaces between phrases)."""
    text = _MASKS.sub(' ', text)
    terms = [w.lower() for w in _WORD.findall(text) if not _SPACELESS.search(w) and len(w) >= 3
             and w.lower() not in _STOP]
    for run in _CJK_RUN.findall(text):
        terms.extend(run[i:i + 2] for i in range(len(run) - 1))
    terms.extend(chunk for chunk in text.split() if _SPACELESS.search(chunk) and not _CJK_RUN.fullmatch(chunk)
                 and 2 <= len(chunk) <= 20)
    return terms


def keywords(texts: list[str], language: str | None = None, n: int = 6) -> list[str]:
    """The most frequent content terms of the visitor's (masked) lines, most frequent first."""
    del language
    counts = Counter(term for text in texts for term in _terms(text))
    return [term for term, _ in counts.most_common(n)]


def extractive_summary(texts: list[str], n: int = 2, max_chars: int = 300) -> str:
    """The visitor's `n` most informative sentences (most distinct content terms, weighted by how often the
    conversation uses them), in their spoken order."""
    sentences = [s.strip() for text in texts for s in _SENTENCES.split(text) if s and s.strip()]
    if not sentences:
        return ''
    weight = Counter(term for s in sentences for term in _terms(s))
    scored = sorted(range(len(sentences)), key=lambda i: (-sum(weight[t] for t in set(_terms(sentences[i]))), i))
    chosen = sorted(scored[:n])
    summary = ' … '.join(sentences[i] for i in chosen)
    return summary if len(summary) <= max_chars else summary[:max_chars - 1] + '…'
