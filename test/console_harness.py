"""Shared pieces of the console tests: a movable clock, a recording CommandSender, signed robot events.

The console under test is always the real one (uvicorn on a loopback port, real argon2, real storage);
robots' events are real signed protocol Envelopes (the ones a ConsoleLink hands over after verifying).
"""
from __future__ import annotations

import secrets
import threading

import httpx

from caexpo_robot.fleet.protocol import Signer

ROBOTS = ('greeter-a', 'greeter-b')
KEYS = {robot: secrets.token_bytes(32) for robot in ROBOTS}
PASSWORD = 'correct horse battery'


class Clock:
    """The console's wall clock, moved by the test (sessions, heartbeats, escalation, retention)."""

    def __init__(self, t: float = 1_796_000_000.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


class RecordingSender:
    """The CommandSender seam (the real one is ConsoleLink): keeps what the console forwarded."""

    def __init__(self):
        self.sent: list[tuple[str, str, dict]] = []
        self.lock = threading.Lock()

    def send(self, robot_id: str, kind: str, body: dict) -> None:
        with self.lock:
            self.sent.append((robot_id, kind, body))


class Robot:
    """Signs events as robot `robot_id` would and hands them to the hub (as the link's pump does)."""

    def __init__(self, hub, clock: Clock, robot_id: str = 'greeter-a'):
        self.hub, self.clock, self.robot_id = hub, clock, robot_id
        self.signer = Signer('robot', KEYS)

    def event(self, kind: str, body: dict):
        envelope = self.signer.sign(self.robot_id, kind, body, self.clock())
        self.hub.handle(envelope)
        return envelope

    def heartbeat(self, **state):
        return self.event('heartbeat', {'state': {'greeting_paused': False, **state}})

    def say(self, text: str, side: str = 'visitor', language: str = 'en', conversation: str = 'c1', final=True):
        return self.event('utterance', {'side': side, 'text': text, 'final': final, 'language': language,
                                        'conversation': conversation})


def login(url: str, name: str, password: str = PASSWORD) -> tuple[httpx.Client, dict]:
    """A client holding `name`'s session cookie, and the login answer (with the CSRF token)."""
    client = httpx.Client(base_url=url, timeout=10)
    response = client.post('/api/login', json={'name': name, 'password': password})
    assert response.status_code == 200, response.text
    return client, response.json()
