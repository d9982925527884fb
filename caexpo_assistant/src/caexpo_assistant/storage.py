"""Persistence behind one small interface: SQLite (default, stdlib) or PostgreSQL (psycopg 3) by URL.

Everything above this module speaks portable SQL with `?` placeholders and sees one error type for
a unique-constraint conflict, so the booking and idempotency logic is the same on both engines.
"""
from __future__ import annotations

import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

SCHEMA = (
    # The whole seed (venue, exhibitors, events, vocabulary) as one JSON document with a version,
    # so every backend of a fleet sees the organiser's latest load atomically.
    '''CREATE TABLE IF NOT EXISTS catalog (
        id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL, body TEXT NOT NULL,
        loaded_at TEXT NOT NULL)''',
    '''CREATE TABLE IF NOT EXISTS sessions (
        id TEXT PRIMARY KEY, robot_id TEXT NOT NULL, entrance TEXT NOT NULL, language TEXT NOT NULL,
        visitor TEXT NOT NULL, context TEXT NOT NULL, created_at TEXT NOT NULL, ended_at TEXT)''',
    '''CREATE TABLE IF NOT EXISTS meetings (
        id TEXT PRIMARY KEY, code TEXT NOT NULL, exhibitor_id TEXT NOT NULL, day TEXT NOT NULL,
        start_time TEXT NOT NULL, end_time TEXT NOT NULL, visitor_name TEXT NOT NULL, contact TEXT,
        language TEXT NOT NULL, session_id TEXT, robot_id TEXT, status TEXT NOT NULL,
        created_at TEXT NOT NULL, cancelled_at TEXT)''',
    # The database, not the application, guarantees one booked meeting per exhibitor slot.
    '''CREATE UNIQUE INDEX IF NOT EXISTS meetings_one_per_slot
        ON meetings (exhibitor_id, day, start_time) WHERE status = 'booked' ''',
    'CREATE INDEX IF NOT EXISTS meetings_by_session ON meetings (session_id)',
    '''CREATE TABLE IF NOT EXISTS staff_requests (
        id TEXT PRIMARY KEY, robot_id TEXT NOT NULL, entrance TEXT NOT NULL, language TEXT NOT NULL,
        reason TEXT NOT NULL, session_id TEXT, status TEXT NOT NULL, created_at TEXT NOT NULL)''',
    # The staff's list (open requests, oldest first) and the one-open-request-per-session check.
    'CREATE INDEX IF NOT EXISTS staff_requests_by_status ON staff_requests (status, created_at)',
    'CREATE INDEX IF NOT EXISTS staff_requests_by_session ON staff_requests (session_id)',
    '''CREATE TABLE IF NOT EXISTS idempotency (
        scope TEXT NOT NULL, key TEXT NOT NULL, request_hash TEXT NOT NULL, status_code INTEGER NOT NULL,
        body TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (scope, key))''',
)


class StorageError(RuntimeError):
    """The database is unreachable or misconfigured."""


class UniqueViolation(StorageError):
    """A write hit a unique constraint (slot already booked, idempotency key raced)."""


class Tx(ABC):
    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """Run one statement; returns the rows (empty for writes)."""


class Storage(ABC):
    engine: str

    @abstractmethod
    def transaction(self) -> Any:
        """Context manager yielding a Tx that holds the write lock / runs as one atomic unit."""

    @abstractmethod
    def read(self) -> Any:
        """Context manager yielding a Tx for consistent reads."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def compact(self) -> None:
        """After personal data was deleted: make sure no copy of it stays in the engine's files."""

    def init_schema(self) -> None:
        with self.transaction() as tx:
            for statement in SCHEMA:
                tx.execute(statement)


class _SqliteTx(Tx):
    def __init__(self, conn: sqlite3.Connection):
        self._conn = conn

    def execute(self, sql, params=()):
        try:
            return self._conn.execute(sql, tuple(params)).fetchall()
        except sqlite3.IntegrityError as exc:
            if 'UNIQUE' in str(exc) or 'PRIMARY KEY' in str(exc):
                raise UniqueViolation(str(exc)) from exc
            raise
        except sqlite3.OperationalError as exc:  # locked past busy_timeout, disk full, I/O error
            raise StorageError(f'SQLite: {exc}') from exc


class SqliteStorage(Storage):
    """One connection per thread (the web server's worker threads), WAL so readers never wait for the writer."""
    engine = 'sqlite'

    def __init__(self, path: str | Path, *, synchronous: str = 'FULL', busy_timeout_ms: int = 10000):
        if str(path) in ('', ':memory:'):
            raise StorageError('an in-memory SQLite database cannot be shared between worker threads; give a file')
        if synchronous.upper() not in ('OFF', 'NORMAL', 'FULL', 'EXTRA'):
            raise StorageError(f'sqlite synchronous must be OFF, NORMAL, FULL or EXTRA, not {synchronous!r}')
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._synchronous = synchronous.upper()
        self._busy_timeout_ms = int(busy_timeout_ms)
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._write_mutex = threading.Lock()
        self.init_schema()

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, 'conn', None)
        if conn is None:
            try:
                conn = sqlite3.connect(self.path, isolation_level=None, timeout=self._busy_timeout_ms / 1000)
                conn.execute('PRAGMA journal_mode=WAL')
                conn.execute(f'PRAGMA synchronous={self._synchronous}')
                conn.execute(f'PRAGMA busy_timeout={self._busy_timeout_ms}')
                # Deleted or overwritten content is zeroed on disk: a purged name is not left in a free page.
                conn.execute('PRAGMA secure_delete=ON')
            except sqlite3.Error as exc:
                raise StorageError(f'cannot open SQLite database {self.path}: {exc}') from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
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
        # IMMEDIATE takes the write lock up front: check-then-write sequences cannot interleave.
        # Writers of this process queue on a mutex first: SQLite's own busy handler sleeps in steps
        # of up to 100 ms, which gave 0.9 s p99 turns under load (measured, bench_assistant.py).
        with self._write_mutex, self._tx('BEGIN IMMEDIATE') as tx:
            yield tx

    def read(self):
        return self._tx('BEGIN DEFERRED')

    def compact(self) -> None:
        """Copy the write-ahead log into the database and truncate it: the WAL still holds the pages as they
        were before a purge. Best effort: a reader holding an old snapshot makes it partial (the next
        purge finishes it)."""
        with self._write_mutex:
            try:
                self._conn().execute('PRAGMA wal_checkpoint(TRUNCATE)').fetchall()
            except sqlite3.Error as exc:
                raise StorageError(f'SQLite: {exc}') from exc

    def close(self):
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.ProgrammingError:  # created in another thread that is gone; the OS reclaims it
                pass
        self._local = threading.local()


class _PostgresTx(Tx):
    def __init__(self, conn, errors):
        self._conn = conn
        self._errors = errors

    def execute(self, sql, params=()):
        try:
            cur = self._conn.execute(sql.replace('?', '%s'), tuple(params))
        except self._errors.UniqueViolation as exc:
            raise UniqueViolation(str(exc)) from exc
        except self._errors.OperationalError as exc:  # connection lost, server shutting down
            raise StorageError(f'PostgreSQL: {exc}') from exc
        return cur.fetchall() if cur.description is not None else []


class PostgresStorage(Storage):
    """PostgreSQL for a fleet sharing one backend; needs psycopg 3 (`psycopg[binary]`)."""
    engine = 'postgresql'

    def __init__(self, url: str):
        try:
            import psycopg
            import psycopg.errors
        except ImportError as exc:
            raise StorageError('PostgreSQL needs psycopg 3: pip install "psycopg[binary]==3.3.9"') from exc
        self._psycopg = psycopg
        self.url = url
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self.init_schema()

    def _conn(self):
        conn = getattr(self._local, 'conn', None)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=5)
            except self._psycopg.Error as exc:
                raise StorageError(f'cannot connect to PostgreSQL: {exc}') from exc
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    @contextmanager
    def _tx(self) -> Iterator[Tx]:
        conn = self._conn()
        with conn.transaction():
            yield _PostgresTx(conn, self._psycopg.errors)

    def init_schema(self):
        with self.transaction() as tx:
            # Concurrent first starts of a fleet would race on CREATE; the advisory lock serialises them.
            tx.execute('SELECT pg_advisory_xact_lock(81765)')
            for statement in SCHEMA:
                tx.execute(statement)

    def transaction(self):
        return self._tx()

    def read(self):
        return self._tx()

    def compact(self) -> None:
        """VACUUM the tables a purge touched, so the old row versions' space is reclaimed (PostgreSQL does not
        zero it; the database's own encryption at rest covers the disk)."""
        try:
            self._conn().execute('VACUUM meetings, sessions, staff_requests, idempotency')
        except self._psycopg.Error as exc:
            raise StorageError(f'PostgreSQL: {exc}') from exc

    def close(self):
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()


_SQLITE_URL = re.compile(r'^sqlite:///(?P<path>.+)$')


def open_storage(db_url: str, *, sqlite_synchronous: str = 'FULL') -> Storage:
    """sqlite:///relative/path, sqlite:////absolute/path, or postgresql://user:pass@host/db."""
    match = _SQLITE_URL.match(db_url)
    if match:
        return SqliteStorage(match['path'], synchronous=sqlite_synchronous)
    if db_url.startswith(('postgresql://', 'postgres://')):
        return PostgresStorage(db_url)
    raise StorageError(f'unsupported database URL {db_url!r}: use sqlite:///path or postgresql://...')
