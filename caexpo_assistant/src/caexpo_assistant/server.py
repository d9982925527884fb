"""Running the reference assistant: in a thread (simulator, tests) or as a process (`caexpo-assistant serve`).

A served process needs tokens (auth.py: the environment or `tokens_file`) and refuses to start without
them; `start_in_thread` issues tokens on demand instead (`running.robot_token(robot_id)`,
`running.staff_token`). Both run the personal-data purge every `purge_every_s`.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import httpx
import uvicorn
from pydantic import Field

from caexpo_robot.config_files import ConfigModel, load_config, validate_config

from . import service
from .app import create_app
from .auth import TokenError, TokenRegistry, registry_from
from .catalog import load_replies
from .guard import default_max_connections, guarded_h11, throttle_server_logs
from .limits import RateLimiter, RateLimits
from .paths import data_path
from .service import load_seed
from .storage import Storage, StorageError, open_storage
from .turns import warm_up

log = logging.getLogger('caexpo_assistant')


class ServerSettings(ConfigModel):
    """data/server.yaml (or --config), then command-line flags; every source is validated the same way."""
    host: str = '127.0.0.1'
    port: int = Field(8765, ge=0, le=65535)
    db_url: str = Field('sqlite:///caexpo_assistant.sqlite3', pattern=r'^(sqlite:///.+|postgres(ql)?://.+)$')
    sqlite_synchronous: Literal['OFF', 'NORMAL', 'FULL', 'EXTRA'] = 'FULL'
    max_body_bytes: int = Field(65536, ge=0)
    today: Optional[dt.date] = None
    replies_dir: Optional[Path] = None
    seed_dir: Optional[Path] = None
    auto_seed: bool = True
    log_level: Literal['critical', 'error', 'warning', 'info', 'debug', 'trace'] = 'warning'
    catalog_refresh_s: float = Field(1.0, ge=0)
    max_connections: Optional[int] = Field(None, ge=1, le=65536)
    header_timeout_s: float = Field(5.0, gt=0, le=300)
    keep_alive_s: float = Field(5.0, gt=0, le=300)
    max_header_bytes: int = Field(16384, ge=1024, le=1048576)
    tokens_file: Optional[Path] = None
    rate_limits: Optional[RateLimits] = RateLimits()
    staff_requests_per_robot: Optional[int] = Field(30, ge=1)
    staff_requests_window_s: float = Field(600.0, gt=0)
    retention_s: Optional[float] = Field(None, ge=0)
    purge_every_s: float = Field(600.0, ge=0)


class NoTokens(RuntimeError):
    """`serve` without any token configured."""


NO_TOKENS = ('no tokens configured: the assistant refuses to serve without them. Set '
             'CAEXPO_ASSISTANT_ROBOT_TOKENS="greeter-1:<token>,..." '
             '(and CAEXPO_ASSISTANT_STAFF_TOKENS="desk-a:<token>") '
             'or tokens_file in the server settings (see docs/assistant.md, "Authentication"); make a token with: '
             'python -c "import secrets; print(secrets.token_urlsafe(32))"')


def uvicorn_config(app, settings: ServerSettings, **kwargs) -> uvicorn.Config:
    """uvicorn's settings with the connection bounds (guard.py): a cap on open connections (default: half
    the open-file limit), a time limit on each request head, a keep-alive limit, a cap on a head's size,
    a small accept batch, and one throttled log line per flood instead of one per socket."""
    max_connections = settings.max_connections or default_max_connections()
    throttle_server_logs()
    return uvicorn.Config(app, log_level=settings.log_level,
                          http=guarded_h11(max_connections, settings.header_timeout_s),
                          limit_concurrency=max_connections + 8, timeout_keep_alive=settings.keep_alive_s,
                          h11_max_incomplete_event_size=settings.max_header_bytes,
                          # accept() takes at most this many sockets per loop pass, so the cap is applied
                          # between passes (uvicorn's 2,048 could exhaust the open-file limit in one pass)
                          backlog=max(16, min(1024, max_connections // 2)), **kwargs)


def load_server_config(path: str | Path | None = None) -> ServerSettings:
    """data/server.yaml (or `path`); a missing key takes the default, an unknown one is a ConfigError."""
    return load_config(ServerSettings, Path(path) if path else data_path('server.yaml'))


def with_overrides(settings: ServerSettings, overrides: dict[str, Any], source: str) -> ServerSettings:
    """`settings` with `overrides` applied, validated (unknown names and bad values refused, naming `source`)."""
    return validate_config(ServerSettings, {**settings.model_dump(exclude_unset=True), **overrides}, source)


def server_tokens(settings: ServerSettings, environ: dict | None = None) -> TokenRegistry:
    """The tokens of a served process (tokens_file and the environment); NoTokens if there are none."""
    try:
        tokens = registry_from(settings.tokens_file, os.environ if environ is None else environ)
    except TokenError as exc:
        raise NoTokens(str(exc)) from None
    if not len(tokens):
        raise NoTokens(NO_TOKENS)
    return tokens


def build(settings: ServerSettings, tokens: TokenRegistry) -> tuple[Storage, Any]:
    """Storage (schema created, seeded if empty and auto_seed) and the ASGI app for these settings."""
    storage = open_storage(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
    storage.policy = service.DataPolicy(staff_requests_per_robot=settings.staff_requests_per_robot,
                                        staff_requests_window_s=settings.staff_requests_window_s)
    try:
        if settings.auto_seed:
            with storage.read() as tx:
                empty = not tx.execute('SELECT 1 FROM catalog')
            if empty:
                load_seed(storage, settings.seed_dir or data_path('seed'))
        replies = load_replies(settings.replies_dir or data_path('replies'))
        app = create_app(storage, replies, tokens=tokens, today=settings.today.isoformat() if settings.today else None,
                         max_body_bytes=settings.max_body_bytes, catalog_refresh_s=settings.catalog_refresh_s,
                         limiter=RateLimiter(settings.rate_limits) if settings.rate_limits else None)
        # The e5 model, the exemplar vectors and the catalog's passages before the first visitor, not during
        # (without a catalog yet, the first turn after load-seed pays for the passages).
        try:
            warm_up(service.CatalogCache(storage, replies).get())
        except service.ApiError:
            pass
    except BaseException:
        storage.close()
        raise
    return storage, app


class Purger:
    """Runs service.purge_personal_data every `every_s` seconds in a daemon thread (0: never)."""

    def __init__(self, storage: Storage, retention_s: float | None, every_s: float):
        self.storage, self.retention_s, self.every_s = storage, retention_s, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='caexpo-assistant-purge', daemon=True)

    def start(self, run_now: bool = False) -> 'Purger':
        """`run_now`: purge once at once too (a server started after midnight)."""
        if self.every_s > 0:
            self._run_now = run_now
            self._thread.start()
        return self

    def _run(self) -> None:
        if self._run_now:
            self.purge_once()
        while not self._stop.wait(self.every_s):
            self.purge_once()

    def purge_once(self) -> None:
        try:
            counts = service.purge_personal_data(self.storage, retention_s=self.retention_s)
            if any(counts.values()):   # counts only: never what was deleted
                log.info('purged personal data: %s', ', '.join(f'{k} {v}' for k, v in counts.items()))
        except (StorageError, service.ApiError) as exc:
            log.warning('personal-data purge failed (next try in %.0f s): %s', self.every_s, exc)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)


@dataclass
class RunningAssistant:
    """A live server on loopback: `url` (no trailing slash) and `stop()` (idempotent). `tokens` are the
    callers it accepts: `robot_token(robot_id)` issues (or repeats) a robot's token, `staff_token` the
    staff's; `headers(...)` is the Authorization header for either."""
    url: str
    storage: Storage
    _stop: Callable[[], None] = field(repr=False)
    tokens: TokenRegistry = field(default_factory=TokenRegistry, repr=False)

    def stop(self) -> None:
        self._stop()

    def robot_token(self, robot_id: str) -> str:
        return self.tokens.issue(robot_id, 'robot')

    @property
    def staff_token(self) -> str:
        return self.tokens.issue('staff', 'staff')

    def headers(self, robot_id: str | None = None) -> dict[str, str]:
        """{'Authorization': 'Bearer ...'}: robot `robot_id`'s token, or the staff token without one."""
        token = self.staff_token if robot_id is None else self.robot_token(robot_id)
        return {'Authorization': f'Bearer {token}'}

    def client(self, robot_id: str | None = None, **kwargs) -> httpx.Client:
        """An httpx.Client on this server with robot `robot_id`'s (or the staff's) token."""
        return httpx.Client(base_url=self.url, headers=self.headers(robot_id), **{'timeout': 10, **kwargs})

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.stop()


def listen_socket(host: str, port: int) -> socket.socket:
    """A listening TCP socket created with proto=IPPROTO_TCP.

    asyncio only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP (uvicorn's own
    bind leaves it 0); without it every keep-alive response waits ~40 ms for a delayed ACK
    (measured: 44 ms -> 1 ms per request).
    """
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def start_in_thread(db_url: str | None = None, host: str = '127.0.0.1', port: int = 0, *,
                    today: str | None = None, seed_dir: str | Path | None = None,
                    startup_timeout_s: float = 10.0, **overrides) -> RunningAssistant:
    """Serve in a daemon thread and return once /v1/health answers. Without db_url, a fresh SQLite
    file in a temporary folder (removed by stop()) seeded with the packaged seed. `overrides` are further
    ServerSettings fields (the built-in defaults, not server.yaml, apply to the rest); ConfigError if wrong.
    Tokens: those of `tokens_file` if given (not the environment), plus any the returned object issues
    (`running.robot_token(robot_id)`, `running.staff_token`)."""
    tmp = None
    if db_url is None:
        tmp = tempfile.TemporaryDirectory(prefix='caexpo_assistant_')
        db_url = f'sqlite:///{Path(tmp.name) / "assistant.sqlite3"}'
    try:
        settings = validate_config(ServerSettings, {'db_url': db_url, 'host': host, 'port': port, 'today': today,
                                                    'seed_dir': seed_dir, **overrides}, 'start_in_thread()')
        tokens = registry_from(settings.tokens_file, environ={})
        storage, app = build(settings, tokens)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    try:
        sock = listen_socket(host, port)
    except OSError:
        storage.close()
        if tmp is not None:
            tmp.cleanup()
        raise
    purger = Purger(storage, settings.retention_s, settings.purge_every_s).start()
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn_config(app, settings, access_log=False, timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, name='caexpo-assistant', daemon=True)
    thread.start()
    url = f'http://{"[" + host + "]" if ":" in host else host}:{bound_port}'
    stopped = threading.Event()

    def stop():
        if stopped.is_set():
            return
        stopped.set()
        purger.stop()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        storage.close()
        if tmp is not None:
            tmp.cleanup()

    running = RunningAssistant(url, storage, stop, tokens)
    deadline = time.monotonic() + startup_timeout_s
    while True:
        try:
            if httpx.get(url + '/v1/health', headers=running.headers(), timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f'the assistant did not answer {url}/v1/health within {startup_timeout_s} s')
        time.sleep(0.02)
    return running


def serve(settings: ServerSettings) -> None:
    """Blocking foreground server (Ctrl-C / SIGTERM stop it cleanly); NoTokens without any token configured."""
    storage, app = build(settings, server_tokens(settings))
    try:
        sock = listen_socket(settings.host, settings.port)
    except OSError:
        storage.close()
        raise
    purger = Purger(storage, settings.retention_s, settings.purge_every_s).start(run_now=True)
    try:
        server = uvicorn.Server(uvicorn_config(app, settings, timeout_graceful_shutdown=5))
        server.run(sockets=[sock])
    finally:
        purger.stop()
        sock.close()
        storage.close()
