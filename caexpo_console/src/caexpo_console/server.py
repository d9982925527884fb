"""Running the console: settings (YAML validated by pydantic), the pieces wired together, in a thread
(tests, the simulator) or in the foreground (`caexpo-console serve`).

Robots' keys never live in the repository or in the settings file: `robot_keys_file` names a JSON file
{robot_id: hex key} readable only by its owner, and/or the environment variable CAEXPO_CONSOLE_ROBOT_KEYS
holds `robot_id:hexkey` pairs separated by commas.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
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
from .auth import Auth, LoginLimits
from .fleet import CommandSender, FleetHub
from .storage import Storage, open_storage

log = logging.getLogger('caexpo_console')
KEYS_ENV = 'CAEXPO_CONSOLE_ROBOT_KEYS'
STATIC_DIR = Path(__file__).resolve().parent / 'static'


class RobotEntry(ConfigModel):
    entrance: Optional[str] = Field(None, max_length=64)
    label: Optional[str] = Field(None, max_length=100)


class ZenohSettings(ConfigModel):
    mode: Literal['peer', 'client'] = 'peer'
    connect: list[str] = []
    listen: list[str] = []


class ConsoleSettings(ConfigModel):
    """The console's YAML (--config), then command-line flags; every source validated the same way."""
    host: str = '127.0.0.1'                 # nothing listens on all interfaces unless configured
    port: int = Field(8780, ge=0, le=65535)
    db: str = 'caexpo_console.sqlite3'      # a file path, sqlite:///path or postgresql://...
    https: bool = False                     # served behind TLS: cookies Secure, HSTS
    robots: dict[str, RobotEntry] = {}      # robot_id -> where it stands (analytics per entrance)
    robot_keys_file: Optional[Path] = None
    zenoh: ZenohSettings = ZenohSettings()
    idle_timeout_s: float = Field(1800.0, gt=0)
    session_max_s: float = Field(43200.0, gt=0)
    login_failures_per_client: int = Field(20, ge=1)
    login_failures_per_user: int = Field(5, ge=1)
    login_window_s: float = Field(300.0, gt=0)
    retention_h: float = Field(24.0, gt=0)          # masked transcripts deleted after this
    # An alert nobody acknowledged or assigned is escalated after this (a setting, not an API: a supervisor's
    # "escalation settings" are this file; > 0, else every alert would escalate the moment it came).
    escalate_after_s: float = Field(120.0, gt=0)
    online_s: float = Field(5.0, gt=0)              # online = a heartbeat within this
    transcript_lines: int = Field(200, ge=10, le=10000)
    stream_queue: int = Field(256, ge=8, le=100000)  # events buffered per browser before it is dropped
    # An open event stream re-checks its session this often whatever the traffic (a logout, disable or role
    # change through the API ends the user's streams at once; this catches the CLI's and expiry).
    stream_session_check_s: float = Field(10.0, ge=0.05, le=60)
    event_queue: int = Field(10000, ge=100)          # robot events waiting for the hub
    log_level: Literal['critical', 'error', 'warning', 'info', 'debug'] = 'warning'


def load_settings(path: str | Path | None, overrides: dict[str, Any]) -> ConsoleSettings:
    base = load_config(ConsoleSettings, path).model_dump(exclude_unset=True) if path else {}
    return validate_config(ConsoleSettings, {**base, **overrides}, path or 'command line')


def robot_keys(settings: ConsoleSettings, environ: dict | None = None) -> dict[str, bytes]:
    """Every robot's key (file and environment); ValueError naming the source (never the key)."""
    from caexpo_robot.fleet.protocol import load_keys
    environ = os.environ if environ is None else environ
    keys = load_keys(settings.robot_keys_file) if settings.robot_keys_file else {}
    pairs = {}
    for item in (environ.get(KEYS_ENV) or '').split(','):
        if item.strip():
            robot_id, sep, key = item.strip().partition(':')
            if not sep:
                raise ValueError(f'{KEYS_ENV}: an entry is robot_id:hexkey')
            pairs[robot_id.strip()] = key.strip()
    keys.update(load_keys(pairs))
    return keys


class EventPump:
    """Hands verified envelopes from Zenoh's threads to one thread that updates the hub (storage writes
    never run on, or block, the link's threads). A full queue drops the event and counts it."""

    def __init__(self, hub: FleetHub, maxsize: int):
        self.hub = hub
        self.dropped = 0
        self._queue: queue.Queue = queue.Queue(maxsize)
        self._thread = threading.Thread(target=self._run, name='caexpo-console-events', daemon=True)
        self._thread.start()

    def put(self, envelope) -> None:
        try:
            self._queue.put_nowait(envelope)
        except queue.Full:
            self.dropped += 1

    def _run(self) -> None:
        while True:
            envelope = self._queue.get()
            if envelope is None:
                return
            self.hub.handle(envelope)

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)


WATCH_REFRESH_S = 10.0   # open views confirmed to their robots this often (robots forget after watch_ttl_s, 30 s)


class Ticker:
    """hub.tick(), the refusal summaries and the session purge every `every_s`, the open views' watch refresh
    every WATCH_REFRESH_S (`refresh_watches`, the app's), in a daemon thread."""

    def __init__(self, hub: FleetHub, auth: Auth, every_s: float = 0.5,
                 refresh_watches: Callable[[], int] | None = None):
        self.hub, self.auth, self.every_s = hub, auth, every_s
        self.refresh_watches = refresh_watches
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name='caexpo-console-tick', daemon=True)
        self._thread.start()

    def _run(self) -> None:
        last_purge = last_refresh = 0.0
        while not self._stop.wait(self.every_s):
            try:
                self.hub.tick()
                self.auth.refusals.flush()
                if self.refresh_watches and time.monotonic() - last_refresh >= WATCH_REFRESH_S:
                    last_refresh = time.monotonic()
                    self.refresh_watches()
                if time.monotonic() - last_purge > 60:
                    last_purge = time.monotonic()
                    self.auth.purge()
            except Exception:      # a database hiccup must not end the ticking
                log.exception('console tick failed')

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def build(settings: ConsoleSettings, sender: CommandSender, clock: Callable[[], float] = time.time,
          storage: Storage | None = None) -> tuple[Storage, FleetHub, Auth, Any]:
    storage = storage or open_storage(settings.db)
    hub = FleetHub(storage, clock, robots={r: e.model_dump() for r, e in settings.robots.items()},
                   online_s=settings.online_s, ring=settings.transcript_lines,
                   escalate_after_s=settings.escalate_after_s, retention_s=settings.retention_h * 3600)
    auth = Auth(storage, clock, idle_s=settings.idle_timeout_s, absolute_s=settings.session_max_s,
                limits=LoginLimits(settings.login_failures_per_client, settings.login_failures_per_user,
                                   settings.login_window_s))
    app = create_app(storage, hub, auth, sender, secure_cookies=settings.https, static_dir=STATIC_DIR,
                     stream_queue=settings.stream_queue, stream_session_check_s=settings.stream_session_check_s)
    return storage, hub, auth, app


class ConsoleServer(uvicorn.Server):
    """uvicorn's Server that ends the console's event streams as soon as it is told to stop (a signal, or
    `should_exit` set by start_in_thread's stop). uvicorn waits for open responses before stopping, and an
    event stream never ends by itself: it used to wait out the graceful timeout, then cancel the streams
    with an ERROR. `on_tick` runs on the event loop every 0.1 s, so nothing is done in a signal handler."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]):
        super().__init__(config)
        self._on_exit = on_exit
        self._exit_seen = False

    async def on_tick(self, counter: int) -> bool:
        should_exit = await super().on_tick(counter)
        if should_exit and not self._exit_seen:
            self._exit_seen = True
            self._on_exit()
        return should_exit


def listen_socket(host: str, port: int) -> socket.socket:
    """A bound, listening TCP socket (IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets)."""
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


@dataclass
class RunningConsole:
    """A live console on loopback: `url`, its `hub`, `storage`, `auth`; `stop()` (idempotent)."""
    url: str
    storage: Storage
    hub: FleetHub
    auth: Auth
    app: Any
    _stop: Callable[[], None] = field(repr=False)

    def stop(self) -> None:
        self._stop()

    def __enter__(self):
        return self

    def __exit__(self, *_exc):
        self.stop()


def start_in_thread(sender: CommandSender, *, db: str | None = None, host: str = '127.0.0.1', port: int = 0,
                    clock: Callable[[], float] = time.time, tick_s: float | None = 0.5,
                    startup_timeout_s: float = 10.0, **overrides) -> RunningConsole:
    """Serve in a daemon thread; returns once /api/health answers. Without `db`, a fresh SQLite file in a
    temporary folder (removed by stop()). `tick_s` None: no ticker (tests call hub.tick() themselves)."""
    tmp = None
    if db is None:
        tmp = tempfile.TemporaryDirectory(prefix='caexpo_console_')
        db = str(Path(tmp.name) / 'console.sqlite3')
    settings = validate_config(ConsoleSettings, {'db': db, 'host': host, 'port': port, **overrides},
                               'start_in_thread()')
    storage, hub, auth, app = build(settings, sender, clock)
    sock = listen_socket(host, port)
    server = ConsoleServer(uvicorn.Config(app, log_level=settings.log_level, access_log=False,
                                         timeout_graceful_shutdown=1), app.state.close_streams)
    thread = threading.Thread(target=server.run, kwargs={'sockets': [sock]}, name='caexpo-console', daemon=True)
    thread.start()
    ticker = Ticker(hub, auth, tick_s, app.state.refresh_watches) if tick_s else None
    url = f'http://{"[" + host + "]" if ":" in host else host}:{sock.getsockname()[1]}'
    stopped = threading.Event()

    def stop():
        if stopped.is_set():
            return
        stopped.set()
        if ticker:
            ticker.stop()
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        auth.refusals.flush(force=True)
        storage.close()
        if tmp is not None:
            tmp.cleanup()

    running = RunningConsole(url, storage, hub, auth, app, stop)
    deadline = time.monotonic() + startup_timeout_s
    while True:
        try:
            if httpx.get(url + '/api/health', timeout=1.0).status_code == 200:
                return running
        except httpx.HTTPError:
            pass
        if not thread.is_alive() or time.monotonic() > deadline:
            stop()
            raise RuntimeError(f'the console did not answer {url}/api/health within {startup_timeout_s} s')
        time.sleep(0.02)


class NoRobots(RuntimeError):
    """`serve` without any robot key: a console nobody can talk to."""


def serve(settings: ConsoleSettings) -> None:
    """Blocking foreground server with its Zenoh link. SIGINT (Ctrl-C) or SIGTERM stops it: open event
    streams end at once, the link and the database are closed, and it returns (the command exits 0)."""
    from caexpo_robot.fleet.link import ConsoleLink, zenoh_config
    try:
        keys = robot_keys(settings)
    except (OSError, ValueError) as exc:
        raise NoRobots(f'robot keys: {exc}') from None
    if not keys:
        raise NoRobots(f'no robot keys: set robot_keys_file in the settings or {KEYS_ENV}="robot_id:hexkey,..." '
                       '(make a key with: openssl rand -hex 32; the robot gets the same one)')
    link = ConsoleLink(keys, zenoh_config(settings.zenoh.listen, settings.zenoh.connect, settings.zenoh.mode))
    robots = {**{r: RobotEntry() for r in keys}, **settings.robots}
    settings = settings.model_copy(update={'robots': robots})
    storage, hub, auth, app = build(settings, link)
    pump = EventPump(hub, settings.event_queue)
    link.on_event(pump.put)
    ticker = Ticker(hub, auth, refresh_watches=app.state.refresh_watches)
    server = ConsoleServer(uvicorn.Config(app, log_level=settings.log_level, timeout_graceful_shutdown=3),
                           app.state.close_streams)
    # uvicorn handles SIGINT/SIGTERM while it runs, and once stopped raises the signal again for the handler it
    # found: the default one killed the process (SIGTERM: before the link and database were closed) or raised
    # KeyboardInterrupt with a traceback (SIGINT). This handler, there while serve() runs, only asks the
    # server to stop (a signal before uvicorn's handlers are in place, or uvicorn's re-raise: nothing more).
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        def stop_server(_sig, _frame):
            server.should_exit = True
        handlers = {sig: signal.signal(sig, stop_server) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        sock = listen_socket(settings.host, settings.port)
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
    finally:
        ticker.stop()
        link.close()
        pump.stop()
        auth.refusals.flush(force=True)
        storage.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
