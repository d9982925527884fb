"""SIGINT and SIGTERM only ask a node to stop; `run_node` (common.py) stops it between callbacks.

rclpy's own handlers shut the ROS context down inside the signal, under whatever callback is running
(a timer then published on a dead context, a model load raised RCLError, teardown raced it). Here a
signal sets `requested` and nothing else. A node executable catches the signals as soon as it imports
this package (nodes/__init__.py), before its 0.4-0.7 s of imports, so that a signal at any moment is a
request, never a KeyboardInterrupt or a kill mid-import. No rclpy here: this must stay cheap to import.
"""
from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# The node executables (setup.py's console scripts); only these catch signals at import, so a test
# process that imports a node module keeps its own Ctrl-C.
EXECUTABLES = frozenset({'camera', 'face_detector', 'tts', 'interaction', 'microphone', 'asr', 'screen',
                         'telepresence'})

requested = threading.Event()
received: list[int] = []     # the signals that arrived, in order (for the stop message)


def _on_signal(signum: int, _frame: object) -> None:
    # Runs on the main thread between two bytecodes: set the flag, nothing that could block or raise.
    received.append(signum)
    requested.set()


def catch() -> bool:
    """Route SIGINT/SIGTERM to `requested` from now on; False where Python cannot (not the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    for sig in STOP_SIGNALS:
        signal.signal(sig, _on_signal)
    return True


def first_signal_name() -> str:
    return signal.Signals(received[0]).name if received else ''


def catch_if_node_executable() -> None:
    if Path(sys.argv[0]).name in EXECUTABLES:
        catch()
