"""Business operations shared by the structured endpoints and the conversational turn endpoint.

Every write runs in one storage transaction together with its idempotency record, so a retried
request (same Idempotency-Key) returns the first answer instead of acting twice.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import threading
import time
import uuid
from typing import Any, Callable

from .catalog import Catalog, load_seed_folder
from .storage import Storage, Tx, UniqueViolation


class ApiError(Exception):
    """An error the client caused or must handle; becomes {"error": {"code", "message"}} with the status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec='milliseconds')


def request_hash(payload: Any) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


# -- catalog -------------------------------------------------------------------------------------

def store_catalog(storage: Storage, document: dict) -> int:
    """Replace the catalog atomically; returns the new version."""
    with storage.transaction() as tx:
        rows = tx.execute('SELECT version FROM catalog WHERE id = 1')
        version = (rows[0][0] if rows else 0) + 1
        tx.execute('INSERT INTO catalog (id, version, body, loaded_at) VALUES (1, ?, ?, ?) '
                   'ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body, '
                   'loaded_at = excluded.loaded_at', (version, json.dumps(document, ensure_ascii=False), now_iso()))
    return version


def load_seed(storage: Storage, folder) -> int:
    return store_catalog(storage, load_seed_folder(folder))


class CatalogCache:
    """The current catalog, re-read from the database at most once per `refresh_s` when its version moved."""

    def __init__(self, storage: Storage, replies: dict, refresh_s: float = 1.0):
        self._storage, self._replies, self._refresh_s = storage, replies, refresh_s
        self._catalog: Catalog | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self) -> Catalog:
        now = time.monotonic()
        if self._catalog is not None and now - self._checked < self._refresh_s:
            return self._catalog
        with self._lock:
            with self._storage.read() as tx:
                rows = tx.execute('SELECT version FROM catalog WHERE id = 1')
                if not rows:
                    raise ApiError(503, 'no_catalog', 'no seed data loaded: run "caexpo-assistant load-seed"')
                if self._catalog is None or self._catalog.version != rows[0][0]:
                    version, body = tx.execute('SELECT version, body FROM catalog WHERE id = 1')[0]
                    self._catalog = Catalog(json.loads(body), self._replies, version)
            self._checked = now
            return self._catalog


# -- idempotency ---------------------------------------------------------------------------------

def run_idempotent(storage: Storage, scope: str, key: str | None, payload: Any,
                   work: Callable[[Tx], tuple[int, dict]]) -> tuple[int, dict]:
    """Run `work` once per (scope, key); a replay with the same key and body gets the stored answer."""
    digest = request_hash(payload)
    for attempt in range(3):
        try:
            with storage.transaction() as tx:
                if key:
                    rows = tx.execute('SELECT request_hash, status_code, body FROM idempotency '
                                      'WHERE scope = ? AND key = ?', (scope, key))
                    if rows:
                        if rows[0][0] != digest:
                            raise ApiError(422, 'idempotency_key_reused',
                                           'this Idempotency-Key was already used with a different request body')
                        return rows[0][1], json.loads(rows[0][2])
                status, body = work(tx)
                if key and status < 500:
                    tx.execute('INSERT INTO idempotency (scope, key, request_hash, status_code, body, created_at) '
                               'VALUES (?, ?, ?, ?, ?, ?)',
                               (scope, key, digest, status, json.dumps(body, ensure_ascii=False), now_iso()))
                return status, body
        except UniqueViolation:
            # Only reachable on PostgreSQL (SQLite writers are serialised): a concurrent transaction took
            # the slot or the key first; running again sees its committed row.
            if attempt == 2:
                raise
    raise AssertionError('unreachable')


# -- sessions ------------------------------------------------------------------------------------

def create_session(storage: Storage, catalog: Catalog, body: dict, key: str | None) -> tuple[int, dict]:
    if body['entrance'] not in catalog.entrances:
        raise ApiError(422, 'unknown_entrance', f'unknown entrance {body["entrance"]!r}; known: '
                       + ', '.join(sorted(catalog.entrances)))

    def work(tx: Tx):
        session = {'session_id': uuid.uuid4().hex, 'robot_id': body['robot_id'], 'entrance': body['entrance'],
                   'language': body['language'], 'created_at': now_iso()}
        tx.execute('INSERT INTO sessions (id, robot_id, entrance, language, visitor, context, created_at) '
                   'VALUES (?, ?, ?, ?, ?, ?, ?)',
                   (session['session_id'], body['robot_id'], body['entrance'], body['language'],
                    json.dumps(body.get('visitor') or {}, ensure_ascii=False), '{}', session['created_at']))
        return 201, session
    return run_idempotent(storage, 'POST /v1/sessions', key, body, work)


def get_session(storage: Storage, session_id: str) -> dict:
    with storage.read() as tx:
        rows = tx.execute('SELECT id, robot_id, entrance, language, visitor, context, created_at, ended_at '
                          'FROM sessions WHERE id = ?', (session_id,))
    if not rows:
        raise ApiError(404, 'unknown_session', f'no session {session_id!r}: open one with POST /v1/sessions')
    sid, robot, entrance, language, visitor, context, created, ended = rows[0]
    return {'session_id': sid, 'robot_id': robot, 'entrance': entrance, 'language': language,
            'visitor': json.loads(visitor), 'context': json.loads(context), 'created_at': created,
            'ended_at': ended}


def end_session(storage: Storage, session_id: str) -> dict:
    with storage.transaction() as tx:
        rows = tx.execute('SELECT ended_at FROM sessions WHERE id = ?', (session_id,))
        if not rows:
            raise ApiError(404, 'unknown_session', f'no session {session_id!r}')
        ended = rows[0][0] or now_iso()
        tx.execute('UPDATE sessions SET ended_at = ? WHERE id = ?', (ended, session_id))
    return {'session_id': session_id, 'ended_at': ended}


def save_context(storage: Storage, session_id: str, context: dict) -> None:
    with storage.transaction() as tx:
        tx.execute('UPDATE sessions SET context = ? WHERE id = ?', (json.dumps(context), session_id))


# -- meetings ------------------------------------------------------------------------------------

def _meeting_row(row) -> dict:
    keys = ('id', 'code', 'exhibitor_id', 'day', 'start', 'end', 'visitor_name', 'contact', 'language',
            'session_id', 'robot_id', 'status', 'created_at', 'cancelled_at')
    return dict(zip(keys, row, strict=True))


_MEETING_COLUMNS = ('id, code, exhibitor_id, day, start_time, end_time, visitor_name, contact, language, '
                    'session_id, robot_id, status, created_at, cancelled_at')


def booked_starts(storage: Storage, exhibitor_id: str, day: str) -> set[str]:
    with storage.read() as tx:
        rows = tx.execute("SELECT start_time FROM meetings WHERE exhibitor_id = ? AND day = ? AND status = 'booked'",
                          (exhibitor_id, day))
    return {r[0] for r in rows}


def slots(storage: Storage, catalog: Catalog, exhibitor_id: str, day: str) -> list[dict]:
    ex = catalog.exhibitors.get(exhibitor_id)
    if ex is None:
        raise ApiError(404, 'unknown_exhibitor', f'no exhibitor {exhibitor_id!r}')
    if day not in catalog.doc['expo']['days']:
        raise ApiError(422, 'not_an_expo_day', f'{day} is not an expo day: ' + ', '.join(catalog.doc['expo']['days']))
    taken = booked_starts(storage, exhibitor_id, day)
    return [{'day': day, 'start': s, 'end': e, 'free': s not in taken} for s, e in catalog.slot_starts(ex)]


def book_meeting(storage: Storage, catalog: Catalog, body: dict, key: str | None) -> tuple[int, dict]:
    """201 with the meeting, or 409 slot_taken / 422 not_a_slot; the unique index settles races."""
    ex = catalog.exhibitors.get(body['exhibitor_id'])
    if ex is None:
        raise ApiError(404, 'unknown_exhibitor', f'no exhibitor {body["exhibitor_id"]!r}')
    if body['day'] not in catalog.doc['expo']['days']:
        raise ApiError(422, 'not_an_expo_day', f'{body["day"]} is not an expo day')
    ends = dict(catalog.slot_starts(ex))
    if body['start'] not in ends:
        raise ApiError(422, 'not_a_slot', f'{body["start"]} is not a meeting slot of {ex["name"]}; slots start at '
                       + ', '.join(ends))

    def work(tx: Tx):
        taken = tx.execute("SELECT 1 FROM meetings WHERE exhibitor_id = ? AND day = ? AND start_time = ? "
                           "AND status = 'booked'", (ex['id'], body['day'], body['start']))
        if taken:
            return 409, {'error': {'code': 'slot_taken', 'message': f'{ex["name"]} is already booked at '
                                   f'{body["start"]} on {body["day"]}; pick another free slot'}}
        meeting = {'id': uuid.uuid4().hex, 'code': secrets.token_hex(3).upper(), 'exhibitor_id': ex['id'],
                   'day': body['day'], 'start': body['start'], 'end': ends[body['start']],
                   'visitor_name': body['visitor_name'], 'contact': body.get('contact'),
                   'language': body['language'], 'session_id': body.get('session_id'),
                   'robot_id': body.get('robot_id'), 'status': 'booked', 'created_at': now_iso(),
                   'cancelled_at': None}
        tx.execute(f'INSERT INTO meetings ({_MEETING_COLUMNS}) VALUES ({", ".join("?" * 14)})',
                   tuple(meeting.values()))
        return 201, decorate_meeting(catalog, meeting)
    return run_idempotent(storage, 'POST /v1/meetings', key, body, work)


def decorate_meeting(catalog: Catalog, meeting: dict) -> dict:
    ex = catalog.exhibitors.get(meeting['exhibitor_id'])
    extra = {'exhibitor_name': ex['name'], 'booth': ex['booth'], 'hall': ex['hall']} if ex else {}
    return {**meeting, **extra}


def get_meeting(storage: Storage, catalog: Catalog, meeting_id: str) -> dict:
    with storage.read() as tx:
        rows = tx.execute(f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?', (meeting_id,))
    if not rows:
        raise ApiError(404, 'unknown_meeting', f'no meeting {meeting_id!r}')
    return decorate_meeting(catalog, _meeting_row(rows[0]))


def cancel_meeting(storage: Storage, catalog: Catalog, meeting_id: str, key: str | None) -> tuple[int, dict]:
    """Cancelling twice is harmless: the second call answers with the already-cancelled meeting."""
    def work(tx: Tx):
        rows = tx.execute(f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?', (meeting_id,))
        if not rows:
            raise ApiError(404, 'unknown_meeting', f'no meeting {meeting_id!r}')
        meeting = _meeting_row(rows[0])
        if meeting['status'] == 'booked':
            meeting['status'], meeting['cancelled_at'] = 'cancelled', now_iso()
            tx.execute("UPDATE meetings SET status = 'cancelled', cancelled_at = ? WHERE id = ?",
                       (meeting['cancelled_at'], meeting_id))
        return 200, decorate_meeting(catalog, meeting)
    return run_idempotent(storage, f'DELETE /v1/meetings/{meeting_id}', key, {'id': meeting_id}, work)


def latest_meeting_of_session(storage: Storage, session_id: str) -> dict | None:
    with storage.read() as tx:
        rows = tx.execute(f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE session_id = ? AND status = 'booked' "
                          'ORDER BY created_at DESC LIMIT 1', (session_id,))
    return _meeting_row(rows[0]) if rows else None


# -- staff requests ------------------------------------------------------------------------------

def create_staff_request(storage: Storage, catalog: Catalog, body: dict, key: str | None) -> tuple[int, dict]:
    if body['entrance'] not in catalog.entrances:
        raise ApiError(422, 'unknown_entrance', f'unknown entrance {body["entrance"]!r}')

    def work(tx: Tx):
        request = {'id': uuid.uuid4().hex, 'robot_id': body['robot_id'], 'entrance': body['entrance'],
                   'language': body['language'], 'reason': body.get('reason') or 'visitor asked for staff',
                   'session_id': body.get('session_id'), 'status': 'open', 'created_at': now_iso()}
        tx.execute('INSERT INTO staff_requests (id, robot_id, entrance, language, reason, session_id, status, '
                   'created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', tuple(request.values()))
        return 201, request
    return run_idempotent(storage, 'POST /v1/staff-requests', key, body, work)


def list_staff_requests(storage: Storage, entrance: str | None) -> list[dict]:
    sql = 'SELECT id, robot_id, entrance, language, reason, session_id, status, created_at FROM staff_requests'
    params: tuple = ()
    if entrance:
        sql, params = sql + ' WHERE entrance = ?', (entrance,)
    with storage.read() as tx:
        rows = tx.execute(sql + ' ORDER BY created_at DESC LIMIT 100', params)
    keys = ('id', 'robot_id', 'entrance', 'language', 'reason', 'session_id', 'status', 'created_at')
    return [dict(zip(keys, r, strict=True)) for r in rows]
