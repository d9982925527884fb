"""The understanding test set (test/data/understanding/<language>.yaml): load it, run it, score it.

Each case is one question in a fresh session at entrance_a on 2025-09-18; each flow is one session over
several turns and counts as one item, passed only if every turn is. The assistant runs for real: the
packaged seed in a temporary SQLite database, the reply files, the e5 model and the exemplars.
Used by test/test_understanding_set.py (thresholds) and bench/bench_understanding.py (the README table).
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field

from caexpo_assistant import service
from caexpo_assistant.catalog import load_replies
from caexpo_assistant.paths import data_path
from caexpo_assistant.storage import open_storage
from caexpo_assistant.turns import Conversation
from caexpo_robot.language.languages import LANGUAGES

SET_DIR = Path(__file__).parent / 'data' / 'understanding'
TODAY = '2025-09-18'
ENTRANCE = 'entrance_a'
MINIMUM = {language: 0.80 if language in ('my', 'km', 'lo') else 0.90 for language in LANGUAGES}
OneOrMore = Union[str, list[str]]


class Turn(BaseModel):
    model_config = ConfigDict(extra='forbid')
    q: str
    intent: str
    topic: Optional[str] = None
    place: Optional[OneOrMore] = None
    exhibitor: Optional[OneOrMore] = None
    exhibitors_include: list[str] = []
    event: Optional[OneOrMore] = None
    day: Optional[str] = None
    start: Optional[str] = None
    reply_starts: list[str] = []
    reply_has: list[str] = []
    reply_lacks: list[str] = []


class Flow(BaseModel):
    model_config = ConfigDict(extra='forbid')
    name: str
    turns: list[Turn] = Field(min_length=2)


class SetFile(BaseModel):
    model_config = ConfigDict(extra='forbid')
    language: str
    cases: list[Turn]
    flows: list[Flow] = []


def load_set(language: str) -> SetFile:
    return SetFile.model_validate(yaml.safe_load((SET_DIR / f'{language}.yaml').read_text(encoding='utf-8')))


def _one_of(value: OneOrMore) -> list[str]:
    return [value] if isinstance(value, str) else value


def problems(turn: Turn, out: dict) -> list[str]:
    """What in the answer `out` (intent, topic, reply, actions) differs from the expectation."""
    found = []
    if out['intent'] != turn.intent:
        found.append(f'intent {out["intent"]} (expected {turn.intent})')
    if turn.topic and out.get('topic') != turn.topic:
        found.append(f'topic {out.get("topic")} (expected {turn.topic})')
    by_type = {}
    for action in out['actions']:
        by_type.setdefault(action['type'], action)
    if turn.place:
        place = by_type.get('show_map', {}).get('place')
        if place not in _one_of(turn.place):
            found.append(f'place {place} (expected {turn.place})')
    listed = [item['id'] for item in by_type.get('show_exhibitors', {}).get('items', [])]
    if turn.exhibitor:
        first = listed[0] if listed else (by_type.get('offer_slots') or by_type.get('meeting_booked')
                                          or by_type.get('meeting_cancelled') or {}).get('exhibitor_id')
        if first not in _one_of(turn.exhibitor):
            found.append(f'exhibitor {first} (expected {turn.exhibitor}; listed {listed[:5]})')
    missing = [i for i in turn.exhibitors_include if i not in listed]
    if missing:
        found.append(f'exhibitors {listed} lack {missing}')
    if turn.event:
        events = [item['id'] for item in by_type.get('show_events', {}).get('items', [])]
        if not set(events) & set(_one_of(turn.event)):
            found.append(f'events {events} (expected one of {turn.event})')
    if turn.day:
        days = {a.get('day') for a in out['actions'] if a.get('day')}
        if turn.day not in days:
            found.append(f'day {sorted(d for d in days if d)} (expected {turn.day})')
    if turn.start:
        starts = {a.get('start') for a in out['actions']} | {(a.get('slots') or [None])[0] for a in out['actions']}
        if turn.start not in starts and turn.start not in out['reply']:
            found.append(f'start {turn.start} not in the answer')
    reply = out['reply'].casefold()
    if turn.reply_starts and not any(reply.startswith(s.casefold()) for s in turn.reply_starts):
        found.append(f'reply does not start with {turn.reply_starts}')
    found += [f'reply lacks {s!r}' for s in turn.reply_has if s.casefold() not in reply]
    found += [f'reply has {s!r}' for s in turn.reply_lacks if s.casefold() in reply]
    return found


@dataclass
class Outcome:
    language: str
    item: str                   # the question, or "flow: <name>"
    problems: list[str] = field(default_factory=list)
    transcript: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems


class SetRunner:
    """A real assistant (service layer, SQLite in a temporary folder) answering test-set turns."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix='understanding_set_')
        self.storage = open_storage(f'sqlite:///{Path(self._tmp.name) / "a.sqlite3"}')
        service.load_seed(self.storage, data_path('seed'))
        self.catalogs = service.CatalogCache(self.storage, load_replies(data_path('replies')), 0)
        self._sessions = 0

    def close(self) -> None:
        self.storage.close()
        self._tmp.cleanup()

    def session(self, language: str) -> str:
        self._sessions += 1
        _, body = service.create_session(self.storage, self.catalogs.get(), {
            'robot_id': 'set-robot', 'entrance': ENTRANCE, 'language': language}, None)
        return body['session_id']

    def turn(self, session_id: str, text: str, language: str) -> dict:
        session = service.get_session(self.storage, session_id)
        result = Conversation(self.storage, self.catalogs.get(), session, TODAY).answer(text, language, None, None)
        return {'intent': result.intent, 'topic': result.topic, 'reply': result.reply, 'actions': result.actions,
                'spoken': result.spoken_in(language)}

    def run(self, language: str) -> list[Outcome]:
        data = load_set(language)
        outcomes = []
        for case in data.cases:
            out = self.turn(self.session(language), case.q, language)
            outcomes.append(Outcome(language, case.q, problems(case, out), [(case.q, out)]))
        for flow in data.flows:
            session = self.session(language)
            outcome = Outcome(language, f'flow: {flow.name}')
            for number, turn in enumerate(flow.turns, 1):
                out = self.turn(session, turn.q, language)
                outcome.transcript.append((turn.q, out))
                outcome.problems += [f'turn {number} ({turn.q!r}): {p}' for p in problems(turn, out)]
            outcomes.append(outcome)
        return outcomes


def accuracy(outcomes: list[Outcome]) -> float:
    return sum(o.passed for o in outcomes) / len(outcomes) if outcomes else 0.0
