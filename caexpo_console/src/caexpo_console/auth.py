"""Operators: argon2id passwords, roles and permissions, server-side sessions, CSRF tokens, login limits.

- Passwords: argon2id (argon2-cffi's PasswordHasher, RFC 9106 low-memory profile); a login for an unknown
  or disabled user still runs one verification (against a fixed dummy hash), so the time taken does not
  tell which user names exist. A hash made with older parameters is upgraded at the next login.
- Sessions: a random 256-bit token in an HttpOnly, SameSite=Strict cookie (Secure when the console is
  served over https); the database keeps only its SHA-256. Expiry is the server's: idle `idle_s`
  (30 min) since the last request, absolute `absolute_s` (12 h) since the login.
- CSRF: each session has its own random token, given by /api/login and /api/me, which every POST, PUT and
  DELETE must echo in X-CSRF-Token (a cross-site page can make the browser send the cookie, not read it).
- Login attempts are limited per client address and per user name (failures in a sliding window).
- Requests refused before anyone's rights are checked (a command without a live session, a state change
  without the session's CSRF token) are audited too, but bounded (RefusalAudit): they cost an attacker
  nothing, and an append-only log that anyone can fill is a log nobody can read.
The clock is injected (tests move it; nothing here sleeps).
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from typing import Callable, Literal, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .storage import Storage, UniqueViolation

Role = Literal['viewer', 'operator', 'supervisor', 'admin']
ROLES: tuple[Role, ...] = ('viewer', 'operator', 'supervisor', 'admin')   # each has every right of those before
SESSION_COOKIE = 'caexpo_console_session'
CSRF_HEADER = 'X-CSRF-Token'
USER_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$')
ANONYMOUS = 'anonymous'       # the audit log's actor of a request without a live session (no user may be named so)
MIN_PASSWORD_CHARS = 10
MAX_PASSWORD_CHARS = 1024     # argon2 hashes anything, but a megabyte "password" is only a way to burn CPU

# The least role each permission needs (the design's table: viewer sees; operator acts on robots and alerts;
# supervisor also forces a hand-back, reads the audit log, sets escalation, exports analytics; admin: users).
PERMISSIONS: dict[str, Role] = {
    'view': 'viewer',
    'say': 'operator', 'stop_speech': 'operator', 'pause_greeting': 'operator', 'resume_greeting': 'operator',
    'take_over': 'operator', 'hand_back': 'operator', 'watch': 'operator',
    'acknowledge_alert': 'operator', 'assign_alert': 'operator',
    'force_hand_back': 'supervisor', 'audit': 'supervisor', 'escalation': 'supervisor',
    'analytics_export': 'supervisor',
    'users': 'admin',
}


def allowed(role: str, permission: str) -> bool:
    """Whether `role` has `permission` (unknown roles and permissions: no)."""
    need = PERMISSIONS.get(permission)
    return need is not None and role in ROLES and ROLES.index(role) >= ROLES.index(need)


def permissions_of(role: str) -> list[str]:
    return sorted(p for p in PERMISSIONS if allowed(role, p))


class AuthError(Exception):
    """A refused login or request: `status` (401, 403, 429), a short `code` and a message for the user."""

    def __init__(self, status: int, code: str, message: str, retry_after_s: float | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after_s = status, code, message, retry_after_s


class UserError(ValueError):
    """A user that cannot be created or changed (bad name, role or password, name taken)."""


@dataclass(frozen=True)
class Session:
    """An authenticated request's session: the user, their role and the session's CSRF token."""
    token_hash: str
    user: str
    role: Role
    csrf: str
    created_at: float
    expires_at: float

    def can(self, permission: str) -> bool:
        return allowed(self.role, permission)


@dataclass(frozen=True)
class LoginLimits:
    """At most `per_client` failed logins from one address and `per_user` for one name in `window_s`."""
    per_client: int = 20
    per_user: int = 5
    window_s: float = 300.0


class LoginLimiter:
    """Failures in a sliding window per key; thread-safe; memory bounded by the keys seen in the window."""

    def __init__(self, limits: LoginLimits, clock: Callable[[], float]):
        self.limits, self._clock = limits, clock
        self._failures: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._swept = clock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures[key]
        while times and times[0] <= now - self.limits.window_s:
            times.popleft()
        return times

    def wait_s(self, client: str, user: str) -> Optional[float]:
        """Seconds until another attempt is allowed, None if it is allowed now."""
        now = self._clock()
        waits = []
        with self._lock:
            for key, limit in ((('client', client), self.limits.per_client), (('user', user), self.limits.per_user)):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[0] + self.limits.window_s - now)
                if not times:
                    del self._failures[key]
        return max(waits) if waits else None

    def failed(self, client: str, user: str) -> None:
        now = self._clock()
        with self._lock:
            # Sweep the keys whose failures all left the window: wait_s() only drops the two keys it looks at,
            # and a guessing run over many user names (or addresses) would otherwise grow this dict for ever.
            # Amortised: a sweep at most once per window.
            if now - self._swept >= self.limits.window_s:
                self._swept = now
                for key in [k for k, times in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]
            self._failures[('client', client)].append(now)
            self._failures[('user', user)].append(now)

    def keys(self) -> int:
        """Keys (addresses and user names) with failures held."""
        with self._lock:
            return len(self._failures)


@dataclass(frozen=True)
class RefusalLimits:
    """Individual audit rows for refusals per minute: at most `per_client` from one client address and
    `per_minute` from all together; every other refusal is only counted, in a summary row per minute."""
    per_client: int = 10
    per_minute: int = 100
    max_clients: int = 1000      # distinct addresses a summary names; beyond, counted as '(other)'


class RefusalAudit:
    """Audits requests refused before authorization (no session, bad CSRF token), bounded per minute.

    Within a minute (wall clock, aligned to :00) the first `per_client` refusals of each client address
    get a row of their own (actor, action, robot, details, result, client), up to `per_minute` rows in
    all (many addresses: IPv6 gives a flood plenty). The rest are counted: once the minute is over, one
    summary row per (actor, result) says how many, from which addresses (the 20 busiest) and for what.
    So an anonymous flood adds at most per_minute + a few rows a minute, and still shows in the log.
    The summary of a minute is written by the next refusal after it, by `flush()` (the console's ticker
    calls it) or by `flush(force=True)` at shutdown. Thread-safe; memory bounded by `max_clients`.
    """
    SUMMARY = 'refusals_summary'

    def __init__(self, storage: Storage, clock: Callable[[], float], limits: RefusalLimits = RefusalLimits()):
        self.storage, self.clock, self.limits = storage, clock, limits
        self._lock = threading.Lock()
        self._minute: float | None = None
        self._rows: Counter = Counter()                  # client -> own rows this minute
        self._counted: dict[tuple[str, str], dict] = {}  # (actor, result) -> what the summary will say

    def record(self, actor: str, action: str, robot: str | None, detail: dict, result: str,
               client: str | None) -> bool:
        """Audits one refusal; True if it got its own row, False if only counted for the minute's summary."""
        now = self.clock()
        client = client or '?'
        with self._lock:
            summaries = self._roll(now - now % 60)
            own = self._rows[client] < self.limits.per_client and sum(self._rows.values()) < self.limits.per_minute
            if own:
                self._rows[client] += 1
            else:
                count = self._counted.setdefault((actor, result), {'count': 0, 'clients': Counter(),
                                                                   'actions': Counter(), 'robots': Counter()})
                count['count'] += 1
                clients = count['clients']
                clients[client if client in clients or len(clients) < self.limits.max_clients else '(other)'] += 1
                count['actions'][action] += 1
                if robot is not None and (robot in count['robots'] or len(count['robots']) < 100):
                    count['robots'][robot] += 1
        self._write(summaries)
        if own:
            self.storage.audit(now, actor, action, robot, detail, result, client)
        return own

    def flush(self, force: bool = False) -> int:
        """Writes the summaries of a finished minute (force: the current one too, e.g. at shutdown); how many."""
        now = self.clock()
        with self._lock:
            if force:
                summaries = self._take(now)   # the minute's own-row counts stay: the bound still holds
            else:
                summaries = self._roll(now - now % 60)
        self._write(summaries)
        return len(summaries)

    def _roll(self, minute: float) -> list[tuple]:
        """A new minute: the last one's summaries, counters reset (caller holds the lock)."""
        if self._minute == minute:
            return []
        summaries = self._take(self._minute + 60 if self._minute is not None else minute)
        self._minute = minute
        self._rows.clear()
        return summaries

    def _take(self, at: float) -> list[tuple]:
        start = self._minute if self._minute is not None else at - at % 60
        summaries = [(at, actor, result, {'from': start, 'to': at, 'count': c['count'],
                                          'clients': _top(c['clients'], 20), 'actions': dict(c['actions']),
                                          'robots': _top(c['robots'], 20)})
                     for (actor, result), c in sorted(self._counted.items())]
        self._counted = {}
        return summaries

    def _write(self, summaries: list[tuple]) -> None:
        for at, actor, result, detail in summaries:
            self.storage.audit(at, actor, self.SUMMARY, None, detail, result, None)


def _top(counts: Counter, n: int) -> dict:
    """The `n` largest counts, the rest summed under '(other)' (a summary row stays small)."""
    top = Counter(dict(counts.most_common(n)))
    rest = sum(counts.values()) - sum(top.values())
    if rest:
        top['(other)'] += rest
    return dict(top)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode('utf-8', 'surrogateescape')).hexdigest()


class Auth:
    """Users, logins and sessions over a Storage; every login (success or failure) and user change audited."""

    def __init__(self, storage: Storage, clock: Callable[[], float], *, idle_s: float = 1800.0,
                 absolute_s: float = 43200.0, limits: LoginLimits = LoginLimits(),
                 hasher: PasswordHasher | None = None, touch_every_s: float = 15.0,
                 refusal_limits: RefusalLimits = RefusalLimits()):
        self.storage, self.clock = storage, clock
        self.idle_s, self.absolute_s, self.touch_every_s = idle_s, absolute_s, touch_every_s
        self.hasher = hasher or PasswordHasher()   # argon2id, t=3, m=64 MiB, p=4
        self.limiter = LoginLimiter(limits, clock)
        self.refusals = RefusalAudit(storage, clock, refusal_limits)
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))

    # -- users --------------------------------------------------------------------------------------------
    def add_user(self, name: str, role: str, password: str, *, actor: str = 'cli', client: str | None = None) -> None:
        _check_user(name, role)
        _check_password(password)
        try:
            self.storage.add_user(name, role, self.hasher.hash(password), self.clock())
        except UniqueViolation:
            self.storage.audit(self.clock(), actor, 'user_add', None, {'user': name, 'role': role}, 'refused: exists',
                               client)
            raise UserError(f'a user named {name!r} already exists') from None
        self.storage.audit(self.clock(), actor, 'user_add', None, {'user': name, 'role': role}, 'ok', client)

    def set_user(self, name: str, *, role: str | None = None, password: str | None = None,
                 disabled: bool | None = None, actor: str = 'cli', client: str | None = None) -> bool:
        """Changes a user (their sessions end); False if there is no such user."""
        if role is not None:
            _check_user(name, role)
        if password is not None:
            _check_password(password)
        changed = self.storage.set_user(name, role=role, disabled=disabled,
                                        password_hash=None if password is None else self.hasher.hash(password))
        detail = {'user': name, **({'role': role} if role else {}), **({'disabled': disabled} if disabled is not None
                                                                        else {}),
                  **({'password': 'changed'} if password is not None else {})}
        self.storage.audit(self.clock(), actor, 'user_change', None, detail, 'ok' if changed else 'refused: unknown',
                           client)
        return changed

    # -- login --------------------------------------------------------------------------------------------
    def login(self, name: str, password: str, client: str) -> tuple[str, Session]:
        """(cookie token, session) or AuthError 401 (wrong name or password, disabled) / 429 (too many)."""
        name = name if isinstance(name, str) else ''
        wait = self.limiter.wait_s(client, name)
        if wait is not None:
            self.storage.audit(self.clock(), name or '?', 'login', None, {}, 'refused: rate limited', client)
            raise AuthError(429, 'rate_limited', 'too many failed logins; try again later', retry_after_s=wait)
        user = self.storage.user(name) if USER_NAME.match(name) else None
        ok = self._verify(user['password_hash'] if user else self._dummy_hash, password)
        if not ok or user is None or user['disabled']:
            self.limiter.failed(client, name)
            why = 'unknown user' if user is None else 'disabled' if user['disabled'] and ok else 'wrong password'
            self.storage.audit(self.clock(), name[:64] or '?', 'login', None, {}, f'refused: {why}', client)
            raise AuthError(401, 'bad_login', 'wrong user name or password')
        if self.hasher.check_needs_rehash(user['password_hash']):
            self.storage.set_user(name, password_hash=self.hasher.hash(password))
        now = self.clock()
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        session = Session(token_hash(token), name, user['role'], csrf, now, now + self.absolute_s)
        self.storage.add_session(session.token_hash, name, csrf, now, session.expires_at)
        self.storage.audit(now, name, 'login', None, {'role': user['role']}, 'ok', client)
        return token, session

    def _verify(self, hashed: str, password: str) -> bool:
        if not isinstance(password, str) or len(password) > MAX_PASSWORD_CHARS:
            password = ''
        try:
            return self.hasher.verify(hashed, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def logout(self, session: Session, client: str | None) -> None:
        self.storage.delete_session(session.token_hash)
        self.storage.audit(self.clock(), session.user, 'logout', None, {}, 'ok', client)

    # -- requests -----------------------------------------------------------------------------------------
    def session(self, token: str | None) -> Optional[Session]:
        """The live session of a cookie token, else None (unknown, expired, idle, user disabled: deleted)."""
        if not token or len(token) > 256:
            return None
        return self.session_by_hash(token_hash(token))

    def session_by_hash(self, hashed: str) -> Optional[Session]:
        """session() by the token's SHA-256 (what the console keeps of a session, e.g. for its open views)."""
        row = self.storage.session(hashed)
        if row is None:
            return None
        now = self.clock()
        if row['disabled'] or now >= row['expires_at'] or now - row['last_seen'] >= self.idle_s:
            self.storage.delete_session(hashed)
            return None
        # One write per `touch_every_s` at most, not one per request (the SSE stream and polling pages).
        if now - row['last_seen'] >= self.touch_every_s:
            self.storage.touch_session(hashed, now)
        return Session(hashed, row['user'], row['role'], row['csrf'], row['created_at'], row['expires_at'])

    def check_csrf(self, session: Session, header: str | None) -> bool:
        return bool(header) and hmac.compare_digest(session.csrf.encode(), header.encode('utf-8', 'replace'))

    def purge(self) -> int:
        """Deletes expired and idle sessions; how many."""
        return self.storage.purge_sessions(self.clock(), self.idle_s)


def _check_user(name: str, role: str) -> None:
    if not isinstance(name, str) or not USER_NAME.match(name):
        raise UserError('a user name is letters, digits, "_", ".", "@" and "-", at most 64, starting with a letter '
                        'or digit')
    if name.lower() == ANONYMOUS:
        raise UserError(f'{ANONYMOUS!r} is the audit log\'s name for requests without a session')
    if role not in ROLES:
        raise UserError(f'a role is one of {", ".join(ROLES)}')


def _check_password(password: str) -> None:
    if not isinstance(password, str) or not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise UserError(f'a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS} characters')
