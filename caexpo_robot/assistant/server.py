"""Running the reference assistant: in a thread (simulator, tests) or as a process (`caexpo-assistant serve`)."""
from __future__ import annotations

import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import uvicorn
import yaml

from ..paths import config_path
from .app import create_app
from .catalog import load_replies
from .service import load_seed
from .storage import Storage, open_storage

DEFAULTS: dict[str, Any] = {
    'host': '127.0.0.1', 'port': 8765, 'db_url': 'sqlite:///caexpo_assistant.sqlite3',
    'sqlite_synchronous': 'FULL', 'max_body_bytes': 65536, 'today': None, 'replies_dir': None,
    'seed_dir': None, 'auto_seed': True, 'log_level': 'warning', 'catalog_refresh_s': 1.0,
}


def load_server_config(path: str | Path | None = None) -> dict:
    """config/assistant/server.yaml (or `path`) over the built-in defaults; unknown keys are an error."""
    path = Path(path) if path else config_path('assistant', 'server.yaml')
    with open(path, encoding='utf-8') as handle:
        data = yaml.safe_load(handle) or {}
    unknown = set(data) - set(DEFAULTS)
    if unknown:
        raise ValueError(f'{path}: unknown keys {sorted(unknown)}; known: {sorted(DEFAULTS)}')
    return {**DEFAULTS, **data}


def build(settings: dict) -> tuple[Storage, Any]:
    """Storage (schema created, seeded if empty and auto_seed) and the ASGI app for these settings."""
    storage = open_storage(settings['db_url'], sqlite_synchronous=settings['sqlite_synchronous'])
    try:
        if settings['auto_seed']:
            with storage.read() as tx:
                empty = not tx.execute('SELECT 1 FROM catalog')
            if empty:
                load_seed(storage, settings['seed_dir'] or config_path('assistant', 'seed'))
        replies = load_replies(settings['replies_dir'] or config_path('assistant', 'replies'))
        app = create_app(storage, replies, today=settings['today'], max_body_bytes=settings['max_body_bytes'],
                         catalog_refresh_s=float(settings['catalog_refresh_s']))
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
    file in a temporary folder (removed by stop()) seeded with the packaged seed."""
    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f'unknown settings {sorted(unknown)}; known: {sorted(DEFAULTS)}')
    tmp = None
    if db_url is None:
        tmp = tempfile.TemporaryDirectory(prefix='caexpo_assistant_')
        db_url = f'sqlite:///{Path(tmp.name) / "assistant.sqlite3"}'
    settings = {**DEFAULTS, 'db_url': db_url, 'today': today, 'seed_dir': seed_dir, **overrides}
    storage, app = build(settings)
    sock = listen_socket(host, port)
    bound_port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level=settings['log_level'], access_log=False,
                                           timeout_graceful_shutdown=2))
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


def serve(settings: dict) -> None:
    """Blocking foreground server (Ctrl-C / SIGTERM stop it cleanly)."""
    storage, app = build(settings)
    sock = listen_socket(settings['host'], int(settings['port']))
    try:
        server = uvicorn.Server(uvicorn.Config(app, log_level=settings['log_level'], timeout_graceful_shutdown=5))
        server.run(sockets=[sock])
    finally:
        sock.close()
        storage.close()
