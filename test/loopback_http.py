"""A small HTTP server on 127.0.0.1 (a random port) serving in a background thread, for fault backends
the tests script: subclass `QuietHandler` for the behaviour, then `LoopbackServer(handler)`."""
from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(('127.0.0.1', 0), handler)
        self.lock = threading.Lock()   # guards what the handler threads and the test share
        self.thread = threading.Thread(target=self.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f'http://127.0.0.1:{self.server_address[1]}'

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class QuietHandler(BaseHTTPRequestHandler):
    """Keep-alive HTTP/1.1, and no line on stderr per request."""
    protocol_version = 'HTTP/1.1'

    def log_message(self, *_args) -> None:
        pass


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (for a server the test starts itself)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]
