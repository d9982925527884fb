"""The assistant's latency on the simulated clock.

The embedded assistant answers in milliseconds of wall time while the simulator's clock waits, so a
simulation would never see what a slow backend does to a visitor: the "one moment" filler, the deadline,
the canned answer, the filler in the way of the answer. This wraps the interaction node's real
`AssistantClient`: every question still goes over HTTP to the assistant at once (the clock waits for
that, `in_flight`), but its reply reaches the dialogue only when the modelled latency has passed on the
sim clock; the filler and the deadline follow the robot's own settings (`assistant_filler_after_s`,
`assistant_deadline_s`) on the same clock, as the real client does on the wall clock.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable

from caexpo_robot.backend.client import AssistantReply, fallback_reply


@dataclass
class _Turn:
    asked_at: float
    latency_s: float
    language: str
    on_reply: Callable[[AssistantReply], None]
    on_filler: Callable[[str, str], None]
    reply: AssistantReply | None = None
    filler_sent: bool = False


class SimulatedBackendLatency:
    def __init__(self, client, now: Callable[[], float], *, latency_s: float, filler_after_s: float,
                 deadline_s: float, filler_text: Callable[[str], str], canned_text: Callable[[str], str]) -> None:
        self.client = client
        self.now = now
        self.latency_s = latency_s
        self.next_latency_s: float | None = None   # the next question's latency, if the scenario sets one
        self.filler_after_s = filler_after_s
        self.deadline_s = deadline_s
        self.filler_text = filler_text
        self.canned_text = canned_text
        self._turns: list[_Turn] = []
        self._in_flight = 0
        self._lock = threading.Lock()

    @property
    def in_flight(self) -> int:
        """Questions whose HTTP exchange has not finished in wall time (the sim clock waits for these)."""
        with self._lock:
            return self._in_flight

    def ask(self, visitor_id: str, text: str, language: str, on_reply, on_filler):
        latency = self.latency_s if self.next_latency_s is None else self.next_latency_s
        self.next_latency_s = None
        turn = _Turn(self.now(), latency, language, on_reply, on_filler)

        def arrived(reply: AssistantReply) -> None:   # the client's thread
            with self._lock:
                turn.reply = reply
                self._in_flight -= 1

        with self._lock:
            self._turns.append(turn)
            self._in_flight += 1
        # The real client's own filler runs on the wall clock: here the filler follows the sim clock.
        return self.client.ask(visitor_id, text, language, on_reply=arrived, on_filler=lambda *_: None)

    def due(self) -> float | None:
        """The next sim time at which a filler, a reply or a deadline is due (None: nothing pending)."""
        with self._lock:
            times = [t for turn in self._turns for t in self._moments(turn)]
        return min(times, default=None)

    def _moments(self, turn: _Turn) -> list[float]:
        moments = [turn.asked_at + min(turn.latency_s, self.deadline_s)]
        if not turn.filler_sent and turn.latency_s > self.filler_after_s:
            moments.append(turn.asked_at + self.filler_after_s)
        return moments

    def tick(self, now: float) -> None:
        """Deliver what is due at sim time `now` (called by the simulator after each clock step)."""
        with self._lock:
            ready = [turn for turn in self._turns if turn.reply is not None]
        for turn in ready:
            if turn.asked_at + self.deadline_s <= now and turn.latency_s > self.deadline_s:
                # The backend is still "thinking" at the deadline: the visitor hears the canned answer.
                self._finish(turn, fallback_reply(self.canned_text(turn.language), turn.language,
                                                  error='sim_timeout', latency_s=self.deadline_s))
            elif turn.asked_at + turn.latency_s <= now:
                self._finish(turn, turn.reply)
            elif not turn.filler_sent and turn.asked_at + self.filler_after_s <= now:
                turn.filler_sent = True
                turn.on_filler(self.filler_text(turn.language), turn.language)

    def _finish(self, turn: _Turn, reply: AssistantReply) -> None:
        with self._lock:
            self._turns.remove(turn)
        turn.on_reply(reply)

    def end_visit(self, visitor_id: str) -> None:
        self.client.end_visit(visitor_id)

    def status(self) -> dict:
        return self.client.status()

    def close(self) -> None:
        self.client.close()
