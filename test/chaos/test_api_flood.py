"""Chaos: slow-header connections against the reference assistant as its own process (`caexpo-assistant
serve`), on loopback, with an open-file limit of 256 (the campaign's 1,100 connections against the usual
1,024). Before the bounds (guard.py) the server ran out of file descriptors: every robot turn timed out
and asyncio logged each failed accept() (41 MB in 8 s). Now a robot turn still gets the backend's answer
within its deadline while the flood lasts, and the flood costs a few log lines."""
import os
import resource
import socket
import subprocess
import sys
import threading
import time

import httpx
import pytest

from caexpo_assistant.auth import new_token
from caexpo_robot.backend import AssistantClient

FLOOD = 300            # slow-header connections (over the 128 the 256-file limit allows)
FLOOD_S = 7.0          # how long the attacker keeps trickling header bytes
NOFILE = 256
DEADLINE_S = 3.0
TOKEN = new_token()   # robot greeter-flood's, given to the server in its environment
AUTH = {'Authorization': f'Bearer {TOKEN}'}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    port = free_port()
    log_path = tmp_path / 'server.log'
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(
            [sys.executable, '-m', 'caexpo_assistant.cli', 'serve', '--port', str(port), '--today', '2025-09-18',
             '--db', f'sqlite:///{tmp_path / "assistant.sqlite3"}'], stdout=log, stderr=log,
            preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE)),
            env={**os.environ, 'CAEXPO_ASSISTANT_ROBOT_TOKENS': f'greeter-flood:{TOKEN}'})
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f'{url}/v1/health', headers=AUTH, timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.05)
        yield url, port, process, log_path
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


class SlowHeaders(threading.Thread):
    """Opens FLOOD connections that each send a partial request head, then one more header line every
    0.5 s, for FLOOD_S seconds at most; counts how many the server closed."""

    def __init__(self, port: int):
        super().__init__(daemon=True)
        self.port, self.sockets, self.opened, self.closed_by_server = port, [], 0, 0
        self.stop_at = time.monotonic() + FLOOD_S

    def run(self):
        for _ in range(FLOOD):
            if time.monotonic() > self.stop_at:
                break
            try:
                sock = socket.create_connection(('127.0.0.1', self.port), timeout=0.5)
                sock.sendall(b'GET /v1/health HTTP/1.1\r\nHost: localhost\r\n')
                sock.setblocking(False)
                self.sockets.append(sock)
                self.opened += 1
            except OSError:
                pass
        while time.monotonic() < self.stop_at:
            for sock in self.sockets:
                try:
                    sock.send(b'X-Slow: 1\r\n')
                except OSError:
                    pass
            time.sleep(0.5)
        for sock in self.sockets:
            try:
                gone = sock.recv(1) == b''
            except BlockingIOError:
                gone = False
            except OSError:
                gone = True
            self.closed_by_server += gone
            sock.close()


def test_slow_header_flood_leaves_the_robot_its_answer_and_the_log_small(server, pb):
    url, port, process, log_path = server
    flood = SlowHeaders(port)
    flood.start()
    time.sleep(1.0)  # the flood is on
    turns = []
    with AssistantClient(url, 'greeter-flood', 'entrance_a', filler_text=lambda lang: pb.say('one_moment', lang).text,
                         canned_reply=pb.canned_answer, deadline_s=DEADLINE_S, token=TOKEN) as client:
        for i, language in enumerate(('en', 'th', 'vi')):
            started = time.monotonic()
            reply = client.ask(f'v{i}', 'Where is the AI zone?', language, on_reply=lambda r: None).result(10)
            turns.append((time.monotonic() - started, reply))
            time.sleep(0.5)
    flood.join(FLOOD_S + 10)
    for at, reply in turns:
        assert reply.source == 'backend' and at <= DEADLINE_S * 1.1, (at, reply.error)
    assert flood.opened >= FLOOD * 0.9, flood.opened
    assert flood.closed_by_server >= flood.opened - 128, (flood.opened, flood.closed_by_server)
    assert process.poll() is None
    assert httpx.get(f'{url}/v1/health', headers=AUTH, timeout=2).status_code == 200
    lines = log_path.read_bytes().splitlines()
    assert len(lines) <= 20 and log_path.stat().st_size < 10_000, (len(lines), lines[:10])
    print(f'slow-header flood: {flood.opened} opened, {flood.closed_by_server} closed by the server, '
          f'turns {[round(at, 3) for at, _ in turns]} s, {len(lines)} log lines')
