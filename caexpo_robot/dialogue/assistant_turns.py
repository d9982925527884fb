"""Questions handed to the assistant, and its fillers and replies handed back to the dialogue.

The assistant client answers on its own threads; the dialogue (InteractionManager) runs on the
executor's. `AssistantTurns.ask` hands a question over, the client's callbacks only queue and `wake`
the executor, and `drain()` (on the executor) feeds what arrived to the manager. Without a client, or
when the client refuses a question, the visitor gets the canned answer at once: the phrasebook's
`canned_answer` in the shape of backend.client.fallback_reply, as the client itself gives it. `busy`
counts the questions still out, so the simulator's clock waits for them. Pure: no rclpy.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Protocol

from pydantic import ValidationError

from caexpo_robot.backend.client import AssistantReply, fallback_reply
from caexpo_robot.dialogue.interaction import Action, Ask, InteractionManager
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
        self._outstanding = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        """Questions handed to the client whose reply has not been fed to the dialogue yet."""
        with self._lock:
            return self._outstanding

    def ask(self, action: Ask) -> list[Action]:
        """Hand the question over; the canned answer's actions at once if there is nobody to ask."""
        if self.client is None:
            return self._reply(action.visitor, self._canned(action.language))
        visitor = action.visitor

        def on_reply(reply: AssistantReply) -> None:
            self._inbox.put(('reply', visitor, reply))
            self.wake()

        def on_filler(text: str, language: str) -> None:
            self._inbox.put(('filler', visitor, (text, language)))
            self.wake()

        with self._lock:   # before ask(): the reply may arrive on the client's thread at once
            self._outstanding += 1
        try:
            self.client.ask(visitor, action.text, action.language, on_reply=on_reply, on_filler=on_filler)
        except (ValueError, RuntimeError) as exc:   # refused before sending: the visitor still gets an answer
            with self._lock:
                self._outstanding -= 1
            self.drop('question', str(exc))
            return self._reply(visitor, self._canned(action.language))
        return []

    def drain(self) -> list[Action]:
        """What the client delivered since the last call, fed to the dialogue (call on the executor)."""
        actions: list[Action] = []
        while True:
            try:
                kind, visitor, payload = self._inbox.get_nowait()
            except queue.Empty:
                return actions
            if kind == 'filler':
                actions += self.manager.on_filler(visitor, payload[0], payload[1], self.now())
                continue
            with self._lock:
                self._outstanding -= 1
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
                                     reply.end_session, reply.source, self.now())
