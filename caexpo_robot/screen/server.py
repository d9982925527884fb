"""The screen's web server: FastAPI + uvicorn on a thread of its own, around the pure `ScreenBridge`.

    GET /            the page (static/index.html)         GET /static/...   its files
    GET /healthz     {"ok": true, "clients": n}            GET /qr?code=...  a QR code (SVG) of a booking code
    WS  /ws          the protocol of docs/screen.md

The socket is bound in `start()` (so a taken port is an OSError there, and port 0 picks a free one, see
`port`); `stop()` ends the server and joins its thread. Frames from ROS reach the pages through
`broadcast(frames)` (any thread); what the pages send becomes typed messages handed to `deliver`.
"""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from pathlib import Path
from typing import Callable

from fastapi import FastAPI, Query, WebSocket
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from caexpo_robot.screen.bridge import CODE_PATTERN, ScreenBridge, frame_text, qr_svg

STATIC_DIR = Path(__file__).parent / 'static'
# The WebSocket layer refuses a message above this (closing the connection, counted); the bridge drops
# any frame above its own, much smaller cap with the connection kept.
TRANSPORT_MAX_BYTES = 64 * 1024
OUT_QUEUE = 256            # frames waiting for one slow page; beyond it frames to that page are dropped
PLACEHOLDER_PAGE = ('<!doctype html><html lang="en"><meta charset="utf-8"><title>CAEXPO greeter</title>'
                    '<p>The screen page is not installed.</p></html>')
# The page's own files only: no inline script, no other origin, no framing.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
       "frame-ancestors 'none'; form-action 'none'")
HEADERS = {'Content-Security-Policy': CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer',
           'Cache-Control': 'no-store'}


class ScreenServer:
    def __init__(self, bridge: ScreenBridge, deliver: Callable[[list], None], *, host: str = '127.0.0.1',
                 port: int = 8766, static_dir: Path = STATIC_DIR, log: Callable[[str], None] = print) -> None:
        self.bridge, self.deliver, self.host, self.static_dir, self.log = bridge, deliver, host, static_dir, log
        self.requested_port = port
        self.port: int | None = None
        self.app = self._app()
        self._queues: dict[int, asyncio.Queue] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------------------
    def start(self, timeout_s: float = 10.0) -> None:
        import uvicorn
        family = socket.AF_INET6 if ':' in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError:
            sock.close()
            raise
        sock.listen(16)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(self.app, log_config=None, log_level='warning', access_log=False, lifespan='off',
                                ws='websockets-sansio', ws_max_size=TRANSPORT_MAX_BYTES,
                                ws_per_message_deflate=False, limit_concurrency=64, timeout_keep_alive=5,
                                h11_max_incomplete_event_size=16 * 1024)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, args=(sock,), name='screen-http', daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self._server.started:
            raise OSError(f'the screen server did not start on {self.host}:{self.port}')

    def _serve(self, sock: socket.socket) -> None:
        try:
            self._server.run(sockets=[sock])
        except Exception as exc:   # noqa: BLE001 - reported; the node stays up without its page
            self.log(f'screen server stopped: {type(exc).__name__}: {exc}')
        finally:
            sock.close()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Close every page connection and the listening socket; join the thread. Safe to call twice."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(timeout_s)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout_s)

    @property
    def url(self) -> str:
        host = f'[{self.host}]' if ':' in self.host else self.host
        return f'http://{host}:{self.port}/'

    # --- to the pages (any thread) ------------------------------------------------------------------------
    def broadcast(self, frames: list[dict]) -> None:
        loop = self._loop
        if frames and loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._enqueue_all, frames)
            except RuntimeError:     # the loop closed meanwhile: nobody to show it to
                pass

    def _enqueue_all(self, frames: list[dict]) -> None:
        for queue in list(self._queues.values()):
            self._enqueue(queue, frames)

    def _enqueue(self, queue: asyncio.Queue, frames: list[dict]) -> None:
        for frame in frames:
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                self.bridge.count('dropped_out_slow_page')

    # --- the app ------------------------------------------------------------------------------------------
    def _app(self):
        app = FastAPI(title='caexpo_robot screen', docs_url=None, redoc_url=None, openapi_url=None)

        @app.middleware('http')
        async def headers(request, call_next):
            response = await call_next(request)
            response.headers.update(HEADERS)
            return response

        @app.get('/')
        async def index():
            page = self.static_dir / 'index.html'
            return FileResponse(page) if page.is_file() else HTMLResponse(PLACEHOLDER_PAGE)

        @app.get('/favicon.ico')
        async def favicon():
            return Response(status_code=204)      # no icon: a kiosk shows none; keeps the console clean

        @app.get('/healthz')
        async def healthz():
            return JSONResponse({'ok': True, 'clients': self.bridge.clients})

        @app.get('/qr')
        async def qr(code: str = Query(max_length=64)):
            if not CODE_PATTERN.match(code):
                return JSONResponse({'error': 'a booking code is 1-64 letters, digits, _ or -'}, status_code=422)
            return Response(qr_svg(code), media_type='image/svg+xml')

        @app.websocket('/ws')
        async def ws(websocket: WebSocket):
            await self._session(websocket)

        app.mount('/static', StaticFiles(directory=self.static_dir, check_dir=False), name='static')
        return app

    async def _session(self, websocket) -> None:
        self._loop = asyncio.get_running_loop()
        conn = self.bridge.connect()
        if conn is None:
            await websocket.close(code=1013)      # try again later: max_clients are connected
            return
        try:
            await websocket.accept()
            queue: asyncio.Queue = asyncio.Queue(maxsize=OUT_QUEUE)
            self._queues[conn.id] = queue
            self._enqueue(queue, self.bridge.snapshot())
            sender = asyncio.create_task(self._send_loop(websocket, queue))
            try:
                await self._receive_loop(websocket, conn, queue)
            finally:
                sender.cancel()
        finally:
            self._queues.pop(conn.id, None)
            self.bridge.disconnect(conn)

    async def _receive_loop(self, websocket, conn, queue: asyncio.Queue) -> None:
        while True:
            message = await websocket.receive()
            if message['type'] == 'websocket.disconnect':
                if message.get('code') == 1009:
                    self.bridge.count('dropped_too_large')
                    self.bridge.count('closed_too_large')
                return
            text = message.get('text')
            result = self.bridge.from_page(conn, text if text is not None else message.get('bytes'))
            if result.messages:
                self.deliver(result.messages)
            self._enqueue(queue, result.replies)
            if result.close:
                await websocket.close(code=1008)     # policy violation: it kept flooding
                return

    async def _send_loop(self, websocket, queue: asyncio.Queue) -> None:
        try:
            while True:
                frame = await queue.get()
                await websocket.send_text(frame_text(frame))
                self.bridge.count('frames_out')
        except asyncio.CancelledError:
            raise
        except Exception:   # noqa: BLE001 - the page went away; the receive loop ends the session
            return
