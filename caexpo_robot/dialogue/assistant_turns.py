"""Questions handed to the assistant, and its fillers and replies handed back to the dialogue.

The assistant client answers on its own threads; the dialogue (InteractionManager) runs on the
executor's. `AssistantTurns.ask` hands a question over, the client's callbacks only queue and `wake`
the executor, and `drain()` (on the executor) feeds what arrived to the manager. Without a client, or
when the client refuses a question, the visitor gets the canned answer at once: the phrasebook's
`canned_answer` in the shape of backend.client.fallback_reply, as the client itself gives it. `busy`
counts the questions still out, so the simulator's clock waits for them (sim/backend_latency.py
models the backend's latency on the sim clock). Pure: no rclpy.
"""
from __future__ import annotations

import itertools
import queue
import threading
from typing import Callable, Protocol

from pydantic import ValidationError

from caexpo_robot.backend.client import AssistantReply, fallback_reply
from caexpo_robot.dialogue.interaction import Abandon, Action, Ask, EndVisit, InteractionManager
from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.messages import ScreenAction


class Client(Protocol):
    """What this needs of backend.client.AssistantClient."""
    def ask(self, visitor_id: str, text: str, language: str, on_reply: Callable[[AssistantReply], None],
            on_filler: Callable[[str, str], None]) -> object: ...
    def end_visit(self, visitor_id: str) -> None: ...
    def status(self) -> dict: ...
    def close(self) -> None: ...


class AssistantTurns:
    def __init__(self, manager: InteractionManager, client: Client | None, canned_text: Callable[[str], str],
                 default_language: str, now: Callable[[], float], wake: Callable[[], None] = lambda: None,
                 count: Callable[[str], None] = lambda key: None,
                 drop: Callable[[str, str], None] = lambda key, reason: None) -> None:
        """`wake()` is called on the client's thread when something arrived (the node triggers a guard
        condition so that `drain()` runs on the executor); `count`/`drop` report to the node's health."""
        self.manager = manager
        self.client = client
        self.canned_text = canned_text
        self.default_language = default_language
        self.now = now
        self.wake = wake
        self.count = count
        self.drop = drop
        self._inbox: queue.SimpleQueue = queue.SimpleQueue()
        self._outstanding: dict[int, tuple[str, object]] = {}   # question -> (visitor, the client's handle)
        self._tokens = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        """Questions handed to the client whose reply has not been fed to the dialogue yet. A client that
        counts its own `in_flight` exchanges (the simulator's, which holds replies until their modelled
        latency has passed on the sim clock) says which of those are still work: then only they, and what
        arrived but is not drained yet, count."""
        in_flight = getattr(self.client, 'in_flight', None)
        if in_flight is not None:
            return in_flight + self._inbox.qsize()
        with self._lock:
            return len(self._outstanding)

    def route(self, actions) -> list[Action]:
        """Carry out the dialogue's actions for the assistant (Ask, EndVisit, Abandon); the rest, and
        whatever an Ask gives at once (the canned answer), are returned to be published."""
        out: list[Action] = []
        for action in actions:
            if isinstance(action, Ask):
                out += self.route(self.ask(action))
            elif isinstance(action, EndVisit):
                self.end_visit(action.visitor)
            elif isinstance(action, Abandon):
                self.abandon(action.visitor)
            else:
                out.append(action)
        return out

    def abandon(self, visitor: str) -> None:
        """The dialogue stopped waiting (its own THINKING bound): the question is no longer out; a late
        reply is ignored by the dialogue."""
        with self._lock:
            mine = [token for token, (owner, _) in self._outstanding.items() if owner == visitor]
            handles = [self._outstanding.pop(token)[1] for token in mine]
        for handle in handles:
            cancel = getattr(handle, 'cancel', None)
            if cancel is not None:
                cancel()

    def ask(self, action: Ask) -> list[Action]:
        """Hand the question over; the canned answer's actions at once if there is nobody to ask."""
        if self.client is None:
            return self._reply(action.visitor, self._canned(action.language))
        visitor, token = action.visitor, next(self._tokens)

        def on_reply(reply: AssistantReply) -> None:
            self._inbox.put(('reply', visitor, token, reply))
            self.wake()

        def on_filler(text: str, language: str) -> None:
            self._inbox.put(('filler', visitor, token, (text, language)))
            self.wake()

        with self._lock:   # before ask(): the reply may arrive on the client's thread at once
            self._outstanding[token] = (visitor, None)
        try:
            handle = self.client.ask(visitor, action.text, action.language, on_reply=on_reply, on_filler=on_filler)
        except (ValueError, RuntimeError) as exc:   # refused before sending: the visitor still gets an answer
            with self._lock:
                self._outstanding.pop(token, None)
            self.drop('question', str(exc))
            return self._reply(visitor, self._canned(action.language))
        with self._lock:
            if token in self._outstanding:
                self._outstanding[token] = (visitor, handle)
        return []

    def drain(self) -> list[Action]:
        """What the client delivered since the last call, fed to the dialogue (call on the executor)."""
        actions: list[Action] = []
        while True:
            try:
                kind, visitor, token, payload = self._inbox.get_nowait()
            except queue.Empty:
                return actions
            with self._lock:
                current = token in self._outstanding
                if kind == 'reply':
                    self._outstanding.pop(token, None)
            if not current:      # abandoned: the visitor already heard the canned answer
                continue
            if kind == 'filler':
                actions += self.manager.on_filler(visitor, payload[0], payload[1], self.now())
                continue
            actions += self._reply(visitor, payload)

    def end_visit(self, visitor: str) -> None:
        if self.client is not None:
            self.client.end_visit(visitor)

    def status(self) -> dict:
        return self.client.status() if self.client is not None else {'breaker': 'no backend configured'}

    def close(self) -> None:
        if self.client is not None:
            self.client.close()

    def _canned(self, language: str) -> AssistantReply:
        language = language if language in LANGUAGES else self.default_language
        return fallback_reply(self.canned_text(language), language)

    def _reply(self, visitor: str, reply: AssistantReply) -> list[Action]:
        if reply.source != 'backend':
            self.count('assistant_canned_replies')
        actions = []
        for action in reply.actions or []:   # for the screen: a malformed one is dropped, not the answer
            try:
                actions.append(ScreenAction.model_validate(action))
            except ValidationError as exc:
                self.drop('assistant_action', str(exc.errors(include_url=False)[0]['msg']))
        return self.manager.on_reply(visitor, reply.text, reply.language, reply.intent, actions,
                                     reply.end_session, reply.source, self.now(), spoken=reply.spoken or None)
