"""Business operations shared by the structured endpoints and the conversational turn endpoint.

Every write runs in one storage transaction together with its idempotency record, so a retried
request (same Idempotency-Key) returns the first answer instead of acting twice.

Visitors' personal data (a meeting's name and contact, a session's visitor hints and dialogue state,
what a visitor said when calling staff, stored replies of idempotent writes) is kept only until the
end of the expo day it concerns (venue time) or `retention_s`: `purge_personal_data` deletes it (the
server runs it periodically; `caexpo-assistant purge` runs it once). It is never written to a log.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .catalog import Catalog, load_seed_folder
from .storage import Storage, Tx, UniqueViolation


class ApiError(Exception):
    """An error the client caused or must handle; becomes {"error": {"code", "message"}} with the status."""

    def __init__(self, status: int, code: str, message: str, details: Any = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details
        self.headers = headers or {}


@dataclass(frozen=True)
class DataPolicy:
    """A deployment's limits on visitors' data, kept on its Storage (`storage.policy`) so every caller of
    the functions below, the turn endpoint included, applies the same ones."""
    staff_requests_per_robot: Optional[int] = 30   # staff requests a robot may make per window (None: no limit)
    staff_requests_window_s: float = 600.0


def policy_of(storage: Storage) -> DataPolicy:
    return getattr(storage, 'policy', None) or DataPolicy()


# Booking codes: 8 characters of an alphabet without look-alikes (no 0/O, 1/I/L, 5/S, 8/B, 2/Z), about
# 37 bits: guessing one among a day's bookings by trial is hopeless under the rate limits.
CODE_ALPHABET = '34679ACDEFGHJKMNPQRTUVWXY'
CODE_LENGTH = 8


def new_booking_code() -> str:
    return ''.join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def same_code(given: str | None, code: str) -> bool:
    """A booking code as a visitor may type it (any case, spaces or dashes), compared in constant time."""
    if not given:
        return False
    cleaned = ''.join(c for c in given.upper() if c not in ' -')
    return hmac.compare_digest(cleaned.encode('utf-8', 'replace'), code.encode())


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
        meeting = {'id': uuid.uuid4().hex, 'code': new_booking_code(), 'exhibitor_id': ex['id'],
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


def get_meeting(storage: Storage, catalog: Catalog, meeting_id: str, *,
                allowed: Callable[[dict], None] | None = None) -> dict:
    with storage.read() as tx:
        rows = tx.execute(f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?', (meeting_id,))
    if not rows:
        raise ApiError(404, 'unknown_meeting', f'no meeting {meeting_id!r}')
    meeting = _meeting_row(rows[0])
    if allowed is not None:
        allowed(meeting)
    return decorate_meeting(catalog, meeting)


def find_meeting_by_code(storage: Storage, code: str) -> dict | None:
    """The booked meeting with this code (a visitor who comes back with it), else None."""
    cleaned = ''.join(c for c in (code or '').upper() if c not in ' -')
    if len(cleaned) != CODE_LENGTH:
        return None
    with storage.read() as tx:
        rows = tx.execute(f"SELECT {_MEETING_COLUMNS} FROM meetings WHERE code = ? AND status = 'booked' "
                          'ORDER BY created_at DESC LIMIT 1', (cleaned,))
    return _meeting_row(rows[0]) if rows else None


def cancel_meeting(storage: Storage, catalog: Catalog, meeting_id: str, key: str | None, *,
                   allowed: Callable[[dict], None] | None = None) -> tuple[int, dict]:
    """Cancelling twice is harmless: the second call answers with the already-cancelled meeting.
    `allowed(meeting)` raises ApiError when the caller may not cancel it (checked in the transaction)."""
    def work(tx: Tx):
        rows = tx.execute(f'SELECT {_MEETING_COLUMNS} FROM meetings WHERE id = ?', (meeting_id,))
        if not rows:
            raise ApiError(404, 'unknown_meeting', f'no meeting {meeting_id!r}')
        meeting = _meeting_row(rows[0])
        if allowed is not None:
            allowed(meeting)
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

_STAFF_COLUMNS = ('id', 'robot_id', 'entrance', 'language', 'reason', 'session_id', 'status', 'created_at')
STAFF_LIST_BOUND = 500


def create_staff_request(storage: Storage, catalog: Catalog, body: dict, key: str | None) -> tuple[int, dict]:
    """201 with a new request; 200 with the open one when this session (or, without a session, this robot)
    already has one: repeating the call cannot flood the staff's list. 429 past the robot's allowance
    (DataPolicy.staff_requests_per_robot per window, counted in the database: every path, every server)."""
    if body['entrance'] not in catalog.entrances:
        raise ApiError(422, 'unknown_entrance', f'unknown entrance {body["entrance"]!r}')
    policy = policy_of(storage)

    def work(tx: Tx):
        session = body.get('session_id')
        same = ('session_id = ?', (session,)) if session else ('robot_id = ? AND session_id IS NULL',
                                                               (body['robot_id'],))
        rows = tx.execute(f'SELECT {", ".join(_STAFF_COLUMNS)} FROM staff_requests WHERE {same[0]} '
                          "AND status = 'open' ORDER BY created_at LIMIT 1", same[1])
        if rows:
            return 200, dict(zip(_STAFF_COLUMNS, rows[0], strict=True))
        if policy.staff_requests_per_robot is not None:
            since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=policy.staff_requests_window_s))
            recent = tx.execute('SELECT created_at FROM staff_requests WHERE robot_id = ? AND created_at > ? '
                                'ORDER BY created_at', (body['robot_id'], _iso(since)))
            if len(recent) >= policy.staff_requests_per_robot:
                oldest = dt.datetime.fromisoformat(recent[0][0])
                wait = (oldest - since).total_seconds()
                raise ApiError(429, 'rate_limited', f'this robot made {len(recent)} staff requests in the last '
                               f'{policy.staff_requests_window_s:.0f} s; staff have been called already',
                               headers={'Retry-After': str(max(1, int(wait) + 1))})
        request = {'id': uuid.uuid4().hex, 'robot_id': body['robot_id'], 'entrance': body['entrance'],
                   'language': body['language'], 'reason': body.get('reason') or 'visitor asked for staff',
                   'session_id': session, 'status': 'open', 'created_at': now_iso()}
        tx.execute('INSERT INTO staff_requests (id, robot_id, entrance, language, reason, session_id, status, '
                   'created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)', tuple(request.values()))
        return 201, request
    return run_idempotent(storage, 'POST /v1/staff-requests', key, body, work)


def list_staff_requests(storage: Storage, entrance: str | None, status: str = 'open',
                        limit: int = STAFF_LIST_BOUND) -> list[dict]:
    """Requests for the staff's tablets, oldest first (the one waiting longest on top): a burst of newer
    requests cannot push an older one off the list. `status`: open, closed or all."""
    where, params = [], []
    if entrance:
        where.append('entrance = ?')
        params.append(entrance)
    if status != 'all':
        where.append('status = ?')
        params.append(status)
    sql = f'SELECT {", ".join(_STAFF_COLUMNS)} FROM staff_requests'
    if where:
        sql += ' WHERE ' + ' AND '.join(where)
    with storage.read() as tx:
        rows = tx.execute(sql + ' ORDER BY created_at, id LIMIT ?', (*params, int(limit)))
    return [dict(zip(_STAFF_COLUMNS, r, strict=True)) for r in rows]


def close_staff_request(storage: Storage, request_id: str) -> dict:
    """A member of staff has taken care of it (idempotent)."""
    with storage.transaction() as tx:
        rows = tx.execute(f'SELECT {", ".join(_STAFF_COLUMNS)} FROM staff_requests WHERE id = ?', (request_id,))
        if not rows:
            raise ApiError(404, 'unknown_staff_request', f'no staff request {request_id!r}')
        tx.execute("UPDATE staff_requests SET status = 'closed' WHERE id = ?", (request_id,))
    return {**dict(zip(_STAFF_COLUMNS, rows[0], strict=True)), 'status': 'closed'}


# -- personal data retention ---------------------------------------------------------------------

def _iso(moment: dt.datetime) -> str:
    """As now_iso() writes it (UTC, milliseconds): such strings compare in time order."""
    return moment.astimezone(dt.timezone.utc).isoformat(timespec='milliseconds')


def venue_utc_offset_hours(storage: Storage) -> float:
    """The venue's UTC offset from the stored catalog (0 when none is loaded)."""
    with storage.read() as tx:
        rows = tx.execute('SELECT body FROM catalog WHERE id = 1')
    return float(json.loads(rows[0][0])['expo'].get('utc_offset_hours', 0)) if rows else 0.0


def purge_personal_data(storage: Storage, *, retention_s: float | None = None, now: dt.datetime | None = None,
                        utc_offset_hours: float | None = None) -> dict[str, int]:
    """Delete visitors' names, contacts and words once they are no longer needed; returns counts per kind.

    retention_s None (the default): kept until the end of the expo day they concern, in the venue's time
    zone (a meeting: its day; anything else: the day it was recorded). A number: that many seconds after
    recorded (a meeting: after it ends). What goes: meetings.visitor_name (set to '') and .contact;
    sessions.visitor and .context (the dialogue state may hold a name); staff_requests.reason (the
    visitor's words); every stored idempotent reply (it may repeat a booking's name). SQLite overwrites
    the deleted bytes (secure_delete) and the write-ahead log is truncated (Storage.compact)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    if now.tzinfo is None:
        raise ValueError('now must carry a time zone')
    offset = venue_utc_offset_hours(storage) if utc_offset_hours is None else utc_offset_hours
    venue = dt.timezone(dt.timedelta(hours=offset))
    if retention_s is None:
        cutoff = dt.datetime.combine(now.astimezone(venue).date(), dt.time(0), venue)  # this venue day's start
    else:
        cutoff = now - dt.timedelta(seconds=retention_s)
    stamp = _iso(cutoff)

    def meeting_over(day: str, end: str) -> bool:
        if retention_s is None:
            return dt.date.fromisoformat(day) < cutoff.astimezone(venue).date()
        ends = dt.datetime.combine(dt.date.fromisoformat(day), dt.time.fromisoformat(end), venue)
        return ends <= cutoff

    counts = {}
    with storage.transaction() as tx:
        rows = tx.execute("SELECT id, day, end_time FROM meetings WHERE created_at < ? "
                          "AND (visitor_name <> '' OR contact IS NOT NULL)", (stamp,))
        done = [r[0] for r in rows if meeting_over(r[1], r[2])]
        for meeting_id in done:
            tx.execute("UPDATE meetings SET visitor_name = '', contact = NULL WHERE id = ?", (meeting_id,))
        counts['meetings'] = len(done)
        counts['sessions'] = len(tx.execute("SELECT id FROM sessions WHERE created_at < ? "
                                            "AND (visitor <> '{}' OR context <> '{}')", (stamp,)))
        tx.execute("UPDATE sessions SET visitor = '{}', context = '{}' WHERE created_at < ? "
                   "AND (visitor <> '{}' OR context <> '{}')", (stamp,))
        counts['staff_requests'] = len(tx.execute("SELECT id FROM staff_requests WHERE created_at < ? "
                                                  "AND reason <> ''", (stamp,)))
        tx.execute("UPDATE staff_requests SET reason = '' WHERE created_at < ? AND reason <> ''", (stamp,))
        counts['idempotency'] = len(tx.execute('SELECT key FROM idempotency WHERE created_at < ?', (stamp,)))
        tx.execute('DELETE FROM idempotency WHERE created_at < ?', (stamp,))
    if any(counts.values()):
        storage.compact()
    return counts
