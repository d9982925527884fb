"""The console's persistence: SQLite (default, a file) or PostgreSQL (psycopg 3) by URL.

The same approach as caexpo_assistant/storage.py (one connection per thread, `?` placeholders everywhere,
IMMEDIATE transactions on SQLite, an advisory lock around PostgreSQL's schema creation), with the console's
schema and its few queries here, so nothing above this module writes SQL.

Privacy: no image or audio is ever stored; transcripts are stored masked (redact.py) and deleted after the
retention (`purge_transcripts`); conversation summaries, alerts and hourly aggregates are kept.
The audit log is append-only: this module has no method that updates or deletes it, and both engines refuse
UPDATE and DELETE on it with a trigger (a bug or a hand-typed statement cannot rewrite history either).
"""
from __future__ import annotations

import json
import re
import sqlite3
import threading
import weakref
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Optional, Sequence

# {id}: an engine-generated integer key; {float}: a double (epoch seconds: PostgreSQL's REAL is 4 bytes).
_SCHEMA = (
    '''CREATE TABLE IF NOT EXISTS console_users (
        name TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL, created_at {float} NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0)''',
    # The session token is stored as its SHA-256 only: a copy of the table logs nobody in.
    '''CREATE TABLE IF NOT EXISTS console_sessions (
        token_hash TEXT PRIMARY KEY, user_name TEXT NOT NULL, csrf TEXT NOT NULL, created_at {float} NOT NULL,
        last_seen {float} NOT NULL, expires_at {float} NOT NULL)''',
    'CREATE INDEX IF NOT EXISTS console_sessions_by_user ON console_sessions (user_name)',
    '''CREATE TABLE IF NOT EXISTS console_audit (
        id {id}, at {float} NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, robot TEXT,
        detail TEXT NOT NULL, result TEXT NOT NULL, client TEXT)''',
    'CREATE INDEX IF NOT EXISTS console_audit_by_robot ON console_audit (robot, id)',
    '''CREATE TABLE IF NOT EXISTS console_alerts (
        robot TEXT NOT NULL, id TEXT NOT NULL, type TEXT NOT NULL, visitor TEXT, language TEXT, detail TEXT,
        raised_at {float} NOT NULL, state TEXT NOT NULL, assignee TEXT, acknowledged_by TEXT,
        acknowledged_at {float}, escalated_at {float}, cleared_at {float}, PRIMARY KEY (robot, id))''',
    'CREATE INDEX IF NOT EXISTS console_alerts_by_state ON console_alerts (state, raised_at)',
    '''CREATE TABLE IF NOT EXISTS console_transcripts (
        id {id}, robot TEXT NOT NULL, conversation TEXT, side TEXT NOT NULL, language TEXT,
        text TEXT NOT NULL, at {float} NOT NULL)''',
    'CREATE INDEX IF NOT EXISTS console_transcripts_by_time ON console_transcripts (at)',
    'CREATE INDEX IF NOT EXISTS console_transcripts_by_conversation ON console_transcripts (robot, conversation)',
    '''CREATE TABLE IF NOT EXISTS console_conversations (
        robot TEXT NOT NULL, conversation TEXT NOT NULL, language TEXT, intents TEXT NOT NULL,
        keywords TEXT NOT NULL, summary TEXT NOT NULL, turns INTEGER NOT NULL, answered INTEGER NOT NULL,
        unanswered TEXT NOT NULL, latencies_ms TEXT NOT NULL, started_at {float} NOT NULL,
        ended_at {float} NOT NULL, PRIMARY KEY (robot, conversation))''',
    'CREATE INDEX IF NOT EXISTS console_conversations_by_end ON console_conversations (ended_at)',
    # One row per robot per hour (hour = the epoch second the hour starts); anonymous counts only.
    '''CREATE TABLE IF NOT EXISTS console_aggregates (
        robot TEXT NOT NULL, hour {float} NOT NULL, seen INTEGER NOT NULL, engaged INTEGER NOT NULL,
        served INTEGER NOT NULL, languages TEXT NOT NULL, latency_buckets TEXT NOT NULL,
        PRIMARY KEY (robot, hour))''',
)
_SQLITE_AUDIT_GUARD = (
    '''CREATE TRIGGER IF NOT EXISTS console_audit_no_update BEFORE UPDATE ON console_audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END''',
    '''CREATE TRIGGER IF NOT EXISTS console_audit_no_delete BEFORE DELETE ON console_audit
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END''',
)
_POSTGRES_AUDIT_GUARD = (
    '''CREATE OR REPLACE FUNCTION caexpo_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$''',
    'DROP TRIGGER IF EXISTS console_audit_append_only ON console_audit',
    '''CREATE TRIGGER console_audit_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON console_audit
        FOR EACH STATEMENT EXECUTE FUNCTION caexpo_audit_append_only()''',
)
# Prefixed: the console may share a PostgreSQL database with the assistant (which has its own `sessions`).
TABLES = tuple(f'console_{t}' for t in ('users', 'sessions', 'audit', 'alerts', 'transcripts', 'conversations',
                                        'aggregates'))

# Answer latency histogram (ms, upper edges; the last bucket is everything above): aggregates keep only
# counts, so percentiles stay available after the conversations' details are gone.
LATENCY_EDGES_MS = (100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 8000, 13000)
ALERT_STATES = ('open', 'acknowledged', 'assigned', 'escalated', 'cleared')


class StorageError(RuntimeError):
    """The database is unreachable or misconfigured."""


class UniqueViolation(StorageError):
    """A write hit a unique constraint (a user name taken)."""


class Tx(ABC):
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement; returns the rows (empty for writes without RETURNING)."""


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql, params=()):
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.IntegrityError as exc:
            if 'UNIQUE' in str(exc) or 'PRIMARY KEY' in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise StorageError(f'SQLite: {exc}') from exc
        except sqlite3.OperationalError as exc:
            raise StorageError(f'SQLite: {exc}') from exc


class _PostgresTx(Tx):
    def __init__(self, conn, errors):
        self._conn = conn
        self._errors = errors

    def execute(self, sql, params=()):
        try:
            cur = self._conn.execute(sql.replace('?', '%s'), tuple(params))
        except self._errors.UniqueViolation as exc:
            raise UniqueViolation(str(exc)) from exc
        except (self._errors.OperationalError, self._errors.RaiseException) as exc:
            raise StorageError(f'PostgreSQL: {exc}') from exc
        return cur.fetchall() if cur.description is not None else []


class Storage(ABC):
    """The console's tables and queries; `transaction()`/`read()` for anything not covered here."""
    engine: str
    _types: dict[str, str]
    _audit_guard: tuple[str, ...]

    @abstractmethod
    def transaction(self) -> Any:
        """Context manager yielding a Tx that runs as one atomic unit."""

    @abstractmethod
    def read(self) -> Any:
        """Context manager yielding a Tx for consistent reads."""

    @abstractmethod
    def close(self) -> None: ...

    def _schema(self) -> list[str]:
        return [s.format(**self._types) for s in _SCHEMA] + list(self._audit_guard)

    # -- users ---------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password_hash: str, at: float) -> None:
        with self.transaction() as tx:
            tx.execute('INSERT INTO console_users (name, role, password_hash, created_at, disabled) '
                       'VALUES (?, ?, ?, ?, 0)',
                       (name, role, password_hash, at))

    def user(self, name: str) -> Optional[dict]:
        with self.read() as tx:
            rows = tx.execute('SELECT name, role, password_hash, created_at, disabled FROM console_users '
                              'WHERE name = ?',
                              (name,))
        return _user(rows[0]) if rows else None

    def users(self) -> list[dict]:
        with self.read() as tx:
            rows = tx.execute('SELECT name, role, password_hash, created_at, disabled FROM console_users ORDER BY name')
        return [_user(row) for row in rows]

    def set_user(self, name: str, *, role: str | None = None, password_hash: str | None = None,
                 disabled: bool | None = None) -> bool:
        """Changes the given fields; a disabled user's sessions end at once. False if there is no such user."""
        with self.transaction() as tx:
            if not tx.execute('SELECT 1 FROM console_users WHERE name = ?', (name,)):
                return False
            for column, value in (('role', role), ('password_hash', password_hash),
                                  ('disabled', None if disabled is None else int(disabled))):
                if value is not None:
                    tx.execute(f'UPDATE console_users SET {column} = ? WHERE name = ?', (value, name))
            if disabled or password_hash is not None or role is not None:
                tx.execute('DELETE FROM console_sessions WHERE user_name = ?', (name,))
        return True

    # -- sessions ------------------------------------------------------------------------------------------
    def add_session(self, token_hash: str, user: str, csrf: str, at: float, expires_at: float) -> None:
        with self.transaction() as tx:
            tx.execute('INSERT INTO console_sessions (token_hash, user_name, csrf, created_at, last_seen, expires_at) '
                       'VALUES (?, ?, ?, ?, ?, ?)', (token_hash, user, csrf, at, at, expires_at))

    def session(self, token_hash: str) -> Optional[dict]:
        """The session with its user's role and disabled flag (None if either is gone)."""
        with self.read() as tx:
            rows = tx.execute('SELECT s.token_hash, s.user_name, s.csrf, s.created_at, s.last_seen, s.expires_at, '
                              'u.role, u.disabled FROM console_sessions s JOIN console_users u ON u.name = s.user_name '
                              'WHERE s.token_hash = ?', (token_hash,))
        if not rows:
            return None
        keys = ('token_hash', 'user', 'csrf', 'created_at', 'last_seen', 'expires_at', 'role', 'disabled')
        session = dict(zip(keys, rows[0], strict=True))
        session['disabled'] = bool(session['disabled'])
        return session

    def touch_session(self, token_hash: str, at: float) -> None:
        with self.transaction() as tx:
            tx.execute('UPDATE console_sessions SET last_seen = ? WHERE token_hash = ?', (at, token_hash))

    def delete_session(self, token_hash: str) -> None:
        with self.transaction() as tx:
            tx.execute('DELETE FROM console_sessions WHERE token_hash = ?', (token_hash,))

    def purge_sessions(self, now: float, idle_s: float) -> int:
        with self.transaction() as tx:
            rows = tx.execute('DELETE FROM console_sessions WHERE expires_at <= ? OR last_seen <= ? '
                              'RETURNING token_hash',
                              (now, now - idle_s))
        return len(rows)

    # -- audit (append-only) -------------------------------------------------------------------------------
    def audit(self, at: float, actor: str, action: str, robot: str | None, detail: dict, result: str,
              client: str | None) -> int:
        """Appends one entry; returns its id."""
        with self.transaction() as tx:
            rows = tx.execute('INSERT INTO console_audit (at, actor, action, robot, detail, result, client) '
                              'VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
                              (at, actor, action, robot, json.dumps(detail, ensure_ascii=False, sort_keys=True),
                               result, client))
        return int(rows[0][0])

    def audit_log(self, *, limit: int = 100, before_id: int | None = None, robot: str | None = None,
                  actor: str | None = None, action: str | None = None) -> list[dict]:
        """Newest first."""
        where, params = [], []
        for column, value in (('robot', robot), ('actor', actor), ('action', action)):
            if value is not None:
                where.append(f'{column} = ?')
                params.append(value)
        if before_id is not None:
            where.append('id < ?')
            params.append(before_id)
        sql = ('SELECT id, at, actor, action, robot, detail, result, client FROM console_audit'
               + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY id DESC LIMIT ?')
        with self.read() as tx:
            rows = tx.execute(sql, (*params, limit))
        keys = ('id', 'at', 'actor', 'action', 'robot', 'detail', 'result', 'client')
        return [{**dict(zip(keys, row, strict=True)), 'detail': json.loads(row[5])} for row in rows]

    # -- alerts --------------------------------------------------------------------------------------------
    _ALERT_COLUMNS = ('robot', 'id', 'type', 'visitor', 'language', 'detail', 'raised_at', 'state', 'assignee',
                      'acknowledged_by', 'acknowledged_at', 'escalated_at', 'cleared_at')

    def raise_alert(self, robot: str, alert_id: str, type_: str, visitor: str | None, language: str | None,
                    detail: str | None, at: float) -> bool:
        """A new open alert; False (nothing changed) if the robot repeats one it already raised."""
        # ON CONFLICT DO NOTHING, not a caught unique violation: robots repeat an open alert every 15 s
        # (at-least-once) and PostgreSQL logs each violation as an ERROR server-side. RETURNING says whether a
        # row was inserted (SQLite >= 3.35 and PostgreSQL both have it).
        with self.transaction() as tx:
            rows = tx.execute('INSERT INTO console_alerts (robot, id, type, visitor, language, detail, raised_at, '
                              "state) VALUES (?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT DO NOTHING RETURNING 1",
                              (robot, alert_id, type_, visitor, language, detail, at))
        return bool(rows)

    def alert(self, robot: str, alert_id: str) -> Optional[dict]:
        with self.read() as tx:
            rows = tx.execute(f'SELECT {", ".join(self._ALERT_COLUMNS)} FROM console_alerts WHERE robot = ? AND id = ?',
                              (robot, alert_id))
        return dict(zip(self._ALERT_COLUMNS, rows[0], strict=True)) if rows else None

    def alerts(self, *, states: Sequence[str] | None = None, robot: str | None = None, limit: int = 200) -> list[dict]:
        """Newest first."""
        where, params = [], []
        if states:
            where.append(f'state IN ({", ".join("?" for _ in states)})')
            params.extend(states)
        if robot is not None:
            where.append('robot = ?')
            params.append(robot)
        sql = (f'SELECT {", ".join(self._ALERT_COLUMNS)} FROM console_alerts'
               + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY raised_at DESC LIMIT ?')
        with self.read() as tx:
            rows = tx.execute(sql, (*params, limit))
        return [dict(zip(self._ALERT_COLUMNS, row, strict=True)) for row in rows]

    def update_alert(self, robot: str, alert_id: str, state: str, *, at: float, by: str | None = None,
                     assignee: str | None = None) -> Optional[dict]:
        """Moves an alert to `state` (a cleared alert stays cleared); the alert after, None if unknown."""
        if state not in ALERT_STATES:
            raise ValueError(f'unknown alert state {state!r}')
        with self.transaction() as tx:
            rows = tx.execute('SELECT state FROM console_alerts WHERE robot = ? AND id = ?', (robot, alert_id))
            if not rows:
                return None
            if rows[0][0] != 'cleared':
                tx.execute('UPDATE console_alerts SET state = ? WHERE robot = ? AND id = ?', (state, robot, alert_id))
                if state == 'acknowledged':
                    tx.execute('UPDATE console_alerts SET acknowledged_by = ?, acknowledged_at = ? '
                               'WHERE robot = ? AND id = ?',
                               (by, at, robot, alert_id))
                elif state == 'assigned':
                    tx.execute('UPDATE console_alerts SET assignee = ?, '
                               'acknowledged_by = COALESCE(acknowledged_by, ?), '
                               'acknowledged_at = COALESCE(acknowledged_at, ?) WHERE robot = ? AND id = ?',
                               (assignee, by, at, robot, alert_id))
                elif state in ('escalated', 'cleared'):
                    tx.execute(f'UPDATE console_alerts SET {state}_at = ? WHERE robot = ? AND id = ?',
                               (at, robot, alert_id))
        return self.alert(robot, alert_id)

    def alerts_to_escalate(self, raised_before: float) -> list[dict]:
        """Open alerts (nobody acknowledged them) raised before the moment."""
        with self.read() as tx:
            rows = tx.execute(f'SELECT {", ".join(self._ALERT_COLUMNS)} FROM console_alerts '
                              "WHERE state = 'open' AND raised_at <= ?", (raised_before,))
        return [dict(zip(self._ALERT_COLUMNS, row, strict=True)) for row in rows]

    # -- transcripts (masked text, retention) --------------------------------------------------------------
    def add_transcript(self, robot: str, conversation: str | None, side: str, language: str | None, text: str,
                       at: float) -> None:
        with self.transaction() as tx:
            tx.execute('INSERT INTO console_transcripts (robot, conversation, side, language, text, at) '
                       'VALUES (?, ?, ?, ?, ?, ?)', (robot, conversation, side, language, text, at))

    def transcripts(self, robot: str, conversation: str | None = None, limit: int = 500) -> list[dict]:
        """Oldest first."""
        sql = 'SELECT robot, conversation, side, language, text, at FROM console_transcripts WHERE robot = ?'
        params: list[Any] = [robot]
        if conversation is not None:
            sql += ' AND conversation = ?'
            params.append(conversation)
        with self.read() as tx:
            rows = tx.execute(sql + ' ORDER BY id DESC LIMIT ?', (*params, limit))
        keys = ('robot', 'conversation', 'side', 'language', 'text', 'at')
        return [dict(zip(keys, row, strict=True)) for row in reversed(rows)]

    def purge_transcripts(self, older_than: float) -> int:
        """Deletes transcript lines stored before the moment; how many."""
        with self.transaction() as tx:
            rows = tx.execute('DELETE FROM console_transcripts WHERE at < ? RETURNING id', (older_than,))
        if rows:
            self.compact()
        return len(rows)

    @abstractmethod
    def compact(self) -> None:
        """After a purge: no copy of deleted text left in the engine's files (best effort)."""

    # -- conversations and aggregates ----------------------------------------------------------------------
    def add_conversation(self, robot: str, summary: dict) -> None:
        """`summary`: conversation, language, intents, keywords, summary, turns, answered, unanswered,
        latencies_ms, started_at, ended_at. A repeated conversation_ended replaces the row."""
        values = (robot, summary['conversation'], summary.get('language'), json.dumps(summary['intents']),
                  json.dumps(summary['keywords'], ensure_ascii=False), summary['summary'], summary['turns'],
                  summary['answered'], json.dumps(summary['unanswered'], ensure_ascii=False),
                  json.dumps(summary['latencies_ms']), summary['started_at'], summary['ended_at'])
        with self.transaction() as tx:
            tx.execute('DELETE FROM console_conversations WHERE robot = ? AND conversation = ?', values[:2])
            tx.execute('INSERT INTO console_conversations (robot, conversation, language, intents, keywords, '
                       'summary, turns, answered, unanswered, latencies_ms, started_at, ended_at) '
                       'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)', values)

    def conversations(self, *, robot: str | None = None, since: float | None = None, until: float | None = None,
                      limit: int = 1000) -> list[dict]:
        """Newest first."""
        where, params = [], []
        for clause, value in (('robot = ?', robot), ('ended_at >= ?', since), ('ended_at < ?', until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        keys = ('robot', 'conversation', 'language', 'intents', 'keywords', 'summary', 'turns', 'answered',
                'unanswered', 'latencies_ms', 'started_at', 'ended_at')
        with self.read() as tx:
            rows = tx.execute(f'SELECT {", ".join(keys)} FROM console_conversations'
                              + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY ended_at DESC LIMIT ?',
                              (*params, limit))
        out = []
        for row in rows:
            item = dict(zip(keys, row, strict=True))
            for key in ('intents', 'keywords', 'unanswered', 'latencies_ms'):
                item[key] = json.loads(item[key])
            out.append(item)
        return out

    def add_to_aggregate(self, robot: str, hour: float, *, seen: int = 0, engaged: int = 0, served: int = 0,
                         languages: dict[str, int] | None = None, latencies_ms: Sequence[float] = ()) -> None:
        """Adds counts to the robot's row for that hour (read-modify-write in one transaction: portable)."""
        buckets_add = [0] * (len(LATENCY_EDGES_MS) + 1)
        for value in latencies_ms:
            buckets_add[latency_bucket(value)] += 1
        with self.transaction() as tx:
            rows = tx.execute('SELECT seen, engaged, served, languages, latency_buckets FROM console_aggregates '
                              'WHERE robot = ? AND hour = ?', (robot, hour))
            if rows:
                old_seen, old_engaged, old_served, old_languages, old_buckets = rows[0]
                langs, buckets = json.loads(old_languages), json.loads(old_buckets)
            else:
                old_seen = old_engaged = old_served = 0
                langs, buckets = {}, [0] * len(buckets_add)
            for code, n in (languages or {}).items():
                langs[code] = langs.get(code, 0) + int(n)
            buckets = [a + b for a, b in zip(buckets, buckets_add, strict=True)]
            values = (old_seen + seen, old_engaged + engaged, old_served + served, json.dumps(langs, sort_keys=True),
                      json.dumps(buckets), robot, hour)
            if rows:
                tx.execute('UPDATE console_aggregates SET seen = ?, engaged = ?, served = ?, languages = ?, '
                           'latency_buckets = ? WHERE robot = ? AND hour = ?', values)
            else:
                tx.execute('INSERT INTO console_aggregates (seen, engaged, served, languages, latency_buckets, '
                           'robot, hour) '
                           'VALUES (?, ?, ?, ?, ?, ?, ?)', values)

    def aggregates(self, since: float | None = None, until: float | None = None) -> list[dict]:
        """Oldest hour first."""
        where, params = [], []
        for clause, value in (('hour >= ?', since), ('hour < ?', until)):
            if value is not None:
                where.append(clause)
                params.append(value)
        with self.read() as tx:
            rows = tx.execute('SELECT robot, hour, seen, engaged, served, languages, latency_buckets '
                              'FROM console_aggregates'
                              + (' WHERE ' + ' AND '.join(where) if where else '') + ' ORDER BY hour, robot', params)
        return [{'robot': r[0], 'hour': r[1], 'seen': r[2], 'engaged': r[3], 'served': r[4],
                 'languages': json.loads(r[5]), 'latency_buckets': json.loads(r[6])} for r in rows]


def latency_bucket(value_ms: float) -> int:
    for index, edge in enumerate(LATENCY_EDGES_MS):
        if value_ms <= edge:
            return index
    return len(LATENCY_EDGES_MS)


def _user(row) -> dict:
    return {'name': row[0], 'role': row[1], 'password_hash': row[2], 'created_at': row[3], 'disabled': bool(row[4])}


class SqliteStorage(Storage):
    """One connection per thread, WAL so readers never wait for the writer."""
    engine = 'sqlite'
    _types = {'id': 'INTEGER PRIMARY KEY AUTOINCREMENT', 'float': 'REAL'}
    _audit_guard = _SQLITE_AUDIT_GUARD

    def __init__(self, path: str | Path, *, busy_timeout_ms: int = 10000):
        if str(path) in ('', ':memory:'):
            raise StorageError('an in-memory SQLite database cannot be shared between worker threads; give a file')
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._all: list[tuple[weakref.ref, sqlite3.Connection]] = []   # (its thread, connection): see _keep
        self._lock = threading.Lock()
        self._write_mutex = threading.Lock()
        with self.transaction() as tx:
            for statement in self._schema():
                tx.execute(statement)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000,
                                       check_same_thread=False)
                conn.execute('PRAGMA journal_mode=WAL')
                conn.execute('PRAGMA synchronous=FULL')
                conn.execute(f'PRAGMA busy_timeout={self._busy_timeout_ms}')
                # Deleted transcripts are zeroed on disk, not left in a free page.
                conn.execute('PRAGMA secure_delete=ON')
            except sqlite3.Error as exc:
                raise StorageError(f'cannot open SQLite database {self.path}: {exc}') from exc
            self._local.conn = conn
            _keep(self._all, self._lock, conn)
        return conn

    @contextmanager
    def _tx(self, begin: str) -> Iterator[Tx]:
        conn = self._conn()
        try:
            conn.execute(begin)
        except sqlite3.OperationalError as exc:
            raise StorageError(f'SQLite: {exc}') from exc
        try:
            yield _SqliteTx(conn)
        except BaseException:
            conn.execute('ROLLBACK')
            raise
        else:
            conn.execute('COMMIT')

    @contextmanager
    def transaction(self) -> Iterator[Tx]:
        # IMMEDIATE: the write lock up front; this process's writers queue on a mutex first (see the assistant's
        # storage: SQLite's busy handler sleeps in steps of up to 100 ms).
        with self._write_mutex, self._tx('BEGIN IMMEDIATE') as tx:
            yield tx

    def read(self):
        return self._tx('BEGIN DEFERRED')

    def compact(self) -> None:
        """The write-ahead log still holds the pages as they were before a purge: copy and truncate it."""
        with self._write_mutex:
            try:
                self._conn().execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f'SQLite: {exc}') from exc

    def close(self):
        with self._lock:
            conns, self._all = self._all, []
        for _thread, conn in conns:
            conn.close()
        self._local = threading.local()

    def open_connections(self) -> int:
        """Connections held (one per thread that used the storage and is alive, give or take: see _keep)."""
        with self._lock:
            return len(self._all)


class PostgresStorage(Storage):
    """PostgreSQL (psycopg 3, `psycopg[binary]`): a console's data beside the assistant's on one server."""
    engine = 'postgresql'
    _types = {'id': 'BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY', 'float': 'DOUBLE PRECISION'}
    _audit_guard = _POSTGRES_AUDIT_GUARD

    def __init__(self, url: str):
        try:
            import psycopg
            import psycopg.errors
        except ImportError as exc:
            raise StorageError('PostgreSQL needs psycopg 3: pip install "psycopg[binary]==3.3.9"') from exc
        self._psycopg = psycopg
        self.url = url
        self._local = threading.local()
        self._all: list[tuple[weakref.ref, Any]] = []   # (its thread, connection): see _keep
        self._lock = threading.Lock()
        with self.transaction() as tx:
            # Two consoles starting at once would race on CREATE; the advisory lock serialises them.
            tx.execute('SELECT pg_advisory_xact_lock(81766)')
            for statement in self._schema():
                tx.execute(statement)

    def _conn(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            except self._psycopg.Error as exc:
                raise StorageError(f'cannot connect to PostgreSQL: {exc}') from exc
            self._local.conn = conn
            _keep(self._all, self._lock, conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        conn = self._conn()
        with conn.transaction():
            yield _PostgresTx(conn, self._psycopg.errors)

    def transaction(self):
        return self._tx()

    def read(self):
        return self._tx()

    def compact(self) -> None:
        """VACUUM reclaims the deleted rows' space (PostgreSQL does not zero it; encryption at rest covers disk)."""
        try:
            self._conn().execute('VACUUM console_transcripts')
        except self._psycopg.Error as exc:
            raise StorageError(f'PostgreSQL: {exc}') from exc

    def close(self):
        with self._lock:
            conns, self._all = self._all, []
        for _thread, conn in conns:
            conn.close()
        self._local = threading.local()

    def open_connections(self) -> int:
        """Connections held (one per thread that used the storage and is alive, give or take: see _keep)."""
        with self._lock:
            return len(self._all)


def _keep(kept: list, lock: threading.Lock, conn: Any) -> None:
    """Remembers a thread's new connection (close() closes them all) and closes those of threads that have
    ended (or were replaced, e.g. a broken PostgreSQL one): anyio's worker threads come and go, and each
    left its connection open until close(), one more file or server connection per dead thread."""
    me = threading.current_thread()
    with lock:
        live, dead = [], []
        for ref, kept_conn in kept:
            thread = ref()
            (live if thread is not None and thread.is_alive() and thread is not me else dead).append(kept_conn)
        kept[:] = [(ref, c) for ref, c in kept if c in live] + [(weakref.ref(me), conn)]
    for old in dead:
        try:
            old.close()
        except Exception:   # noqa: BLE001 - a connection that cannot even close is gone anyway
            pass


_SQLITE_URL = re.compile(r'^sqlite:///(?P<path>.+)$')


def open_storage(db: str) -> Storage:
    """A file path, sqlite:///path, or postgresql://user:pass@host/db."""
    if db.startswith(('postgresql://', 'postgres://')):
        return PostgresStorage(db)
    match = _SQLITE_URL.match(db)
    if match:
        return SqliteStorage(match['path'])
    if '://' in db:
        raise StorageError(f'unsupported database URL {db!r}: use a file path, sqlite:///path or postgresql://...')
    return SqliteStorage(db)
