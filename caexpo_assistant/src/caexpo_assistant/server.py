"""Running the reference assistant: in a thread (simulator, tests) or as a process (`caexpo-assistant serve`)."""
from __future__ import annotations

import datetime as dt
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

from .app import create_app
from .catalog import load_replies
from .guard import default_max_connections, guarded_h11, throttle_server_logs
from .paths import data_path
from .service import load_seed
from .storage import Storage, open_storage


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


def build(settings: ServerSettings) -> tuple[Storage, Any]:
    """Storage (schema created, seeded if empty and auto_seed) and the ASGI app for these settings."""
    storage = open_storage(settings.db_url, sqlite_synchronous=settings.sqlite_synchronous)
    try:
        if settings.auto_seed:
            with storage.read() as tx:
                empty = not tx.execute('SELECT 1 FROM catalog')
            if empty:
                load_seed(storage, settings.seed_dir or data_path('seed'))
        replies = load_replies(settings.replies_dir or data_path('replies'))
        app = create_app(storage, replies, today=settings.today.isoformat() if settings.today else None,
                         max_body_bytes=settings.max_body_bytes, catalog_refresh_s=settings.catalog_refresh_s)
    except BaseException:
        storage.close()
        raise
    return storage, app


@dataclass
class RunningAssistant:
    """A live server on loopback: `url` (no trailing slash) and `stop()` (idempotent)."""
    url: str
    storage: Storage
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        self._stop()

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
    ServerSettings fields (the built-in defaults, not server.yaml, apply to the rest); ConfigError if wrong."""
    tmp = None
    if db_url is None:
        tmp = tempfile.TemporaryDirectory(prefix='caexpo_assistant_')
        db_url = f'sqlite:///{Path(tmp.name) / "assistant.sqlite3"}'
    try:
        settings = validate_config(ServerSettings, {'db_url': db_url, 'host': host, 'port': port, 'today': today,
                                                    'seed_dir': seed_dir, **overrides}, 'start_in_thread()')
        storage, app = build(settings)
    except BaseException:
        if tmp is not None:
            tmp.cleanup()
        raise
    sock = listen_socket(host, port)
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
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        storage.close()
        if tmp is not None:
            tmp.cleanup()

    deadline = time.monotonic() + startup_timeout_s
    while True:
        try:
            if httpx.get(url + '/v1/health', timeout=1.0).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f'the assistant did not answer {url}/v1/health within {startup_timeout_s} s')
        time.sleep(0.02)
    return RunningAssistant(url, storage, stop)


def serve(settings: ServerSettings) -> None:
    """Blocking foreground server (Ctrl-C / SIGTERM stop it cleanly)."""
    storage, app = build(settings)
    sock = listen_socket(settings.host, settings.port)
    try:
        server = uvicorn.Server(uvicorn_config(app, settings, timeout_graceful_shutdown=5))
        server.run(sockets=[sock])
    finally:
        sock.close()
        storage.close()
