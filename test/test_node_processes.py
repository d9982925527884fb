"""Each node executable starts, publishes /diagnostics, and exits 0 on SIGINT and SIGTERM."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from diagnostic_msgs.msg import DiagnosticArray

from ros_harness import ros_graph

BIN = Path(sys.executable).parent


def telepresence_args(tmp_path) -> list[str]:
    """A console link that really opens: this robot's key (chmod 600) and a Zenoh listener on a free port."""
    import secrets
    import socket
    key = tmp_path / 'fleet-key'
    key.write_text(secrets.token_hex(32), encoding='utf-8')
    key.chmod(0o600)
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    return ['-p', 'robot_id:=greeter-test', '-p', f'key_file:={key}', '-p', f'zenoh_listen:=tcp/127.0.0.1:{port}']


def node_args(name, tmp_path, shared_faces):
    if name == 'telepresence':
        return telepresence_args(tmp_path)
    return {
        'camera': ['-p', f'source:={shared_faces}', '-p', 'fps:=5.0'],
        'face_detector': [],
        'tts': ['-p', 'audio_output:=file', '-p', f'wav_dir:={tmp_path}'],
        'interaction': [],
        'microphone': [],            # no sound card here: it must run, report and retry
        'asr': [],
        'screen': ['-p', 'port:=0'],  # any free port: tests may run beside a robot or a simulation
    }[name]


@pytest.mark.parametrize('name,sig', [('camera', signal.SIGINT), ('face_detector', signal.SIGTERM),
                                      ('tts', signal.SIGINT), ('interaction', signal.SIGTERM),
                                      ('microphone', signal.SIGINT), ('asr', signal.SIGTERM),
                                      ('screen', signal.SIGINT), ('telepresence', signal.SIGTERM)])
def test_node_runs_and_exits_cleanly_on_signal(name, sig, tmp_path, shared_data):
    args = [str(BIN / name), '--ros-args', *node_args(name, tmp_path, shared_data / 'faces')]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               env={**os.environ, 'PYTHONUNBUFFERED': '1'})
    try:
        with ros_graph() as g:
            diagnostics = g.listen('/diagnostics', DiagnosticArray, 10)
            up = g.spin_until(lambda: any(s.name.endswith(f'/{name}') for d in diagnostics for s in d.status),
                              timeout=30)
        assert up, f'{name} never published diagnostics'
        process.send_signal(sig)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, output
    assert 'Traceback' not in output and 'terminate called' not in output, output
