"""`caexpo-console serve` stops cleanly with a browser's event stream open: the real command in a subprocess
(its own SQLite file, a robot key, a Zenoh session listening nowhere), a logged-in client reading
/api/stream, then SIGTERM or SIGINT. Before the fix uvicorn waited its 3 s graceful timeout for the endless
stream and logged "Cancel 1 running task(s)" at ERROR; then re-raised the signal, so SIGTERM killed the
process before the link and the database were closed, and SIGINT ended in a KeyboardInterrupt traceback."""
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from caexpo_console.auth import Auth
from caexpo_console.storage import open_storage

from console_harness import PASSWORD
from loopback_http import free_port

COMMAND = Path(sys.executable).with_name('caexpo-console')


@pytest.mark.parametrize('sig', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_serve_stops_at_once_with_a_stream_open(tmp_path, sig):
    db = str(tmp_path / 'console.sqlite3')
    storage = open_storage(db)
    Auth(storage, time.time).add_user('vera', 'viewer', PASSWORD)
    storage.close()
    config = tmp_path / 'console.yaml'
    config.write_text('log_level: info\n')      # uvicorn's own account of the shutdown lands in stderr too
    port = free_port()
    env = {**os.environ, 'CAEXPO_CONSOLE_ROBOT_KEYS': f'greeter-a:{secrets.token_hex(32)}'}
    proc = subprocess.Popen([str(COMMAND), '--config', str(config), '--db', db, 'serve', '--port', str(port)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f'http://127.0.0.1:{port}'
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + '/api/health', timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.poll() else ''
            time.sleep(0.05)
        client = httpx.Client(base_url=url, timeout=10)
        assert client.post('/api/login', json={'name': 'vera', 'password': PASSWORD}).status_code == 200
        lines, opened, ended = [], threading.Event(), threading.Event()
        errors = []

        def read():
            try:
                with client.stream('GET', '/api/stream') as response:
                    for line in response.iter_lines():
                        lines.append(line)
                        opened.set()
            except httpx.HTTPError as exc:   # the server's end must be a clean end of the stream
                errors.append(exc)
            ended.set()
        threading.Thread(target=read, daemon=True).start()
        assert opened.wait(10) and lines[0] == 'event: snapshot'
        assert httpx.get(url + '/api/health').json()['stream_clients'] == 1

        started = time.monotonic()
        proc.send_signal(sig)
        code = proc.wait(timeout=10)
        took = time.monotonic() - started
        err = proc.stderr.read()
        assert code == 0, err
        assert ended.wait(5) and errors == []
        assert 'Traceback' not in err and 'ERROR' not in err and 'Cancel' not in err, err
        # the graceful timeout is 3 s: well under it means the stream ended when asked, not when cut off
        assert took < 2.0, (took, err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()
    # the database was closed properly: the login is in the audit log and the file opens again
    storage = open_storage(db)
    try:
        assert [e['result'] for e in storage.audit_log(actor='vera', action='login')] == ['ok']
    finally:
        storage.close()
