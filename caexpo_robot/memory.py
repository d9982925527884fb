"""Giving freed heap memory back to the system (pure: no rclpy, no third-party imports).

glibc's malloc keeps what a big computation frees in its arenas for the next one: after a Whisper base
decode the asr process stays ~80 MB above its size before the decode (the decoder's working buffers, freed
by CTranslate2 but not unmapped). `malloc_trim(0)` hands those free pages back (414 -> 331 MiB measured);
the next decode takes them again, so it is called when the process goes idle, not in between decodes.
It walks the free lists of every arena: ~1-3 ms on the asr process (the DecodeWorker measures it).
`resident_mib()` reads the process's RSS (the asr engine's budget for Vosk's graph cache).
"""
from __future__ import annotations

import ctypes
import os


def _find_malloc_trim():
    """glibc's `int malloc_trim(size_t pad)`, or None (musl, macOS, Windows: no such call)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim   # the C library the interpreter already runs on
    except (OSError, TypeError, AttributeError):   # TypeError: Windows' CDLL needs a name
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_MALLOC_TRIM = _find_malloc_trim()
TRIM_AVAILABLE = _MALLOC_TRIM is not None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system (glibc malloc_trim(0)). True when glibc gave some
    back; False when there was nothing to give or the C library has no such call. Never raises."""
    if _MALLOC_TRIM is None:
        return False
    try:
        return bool(_MALLOC_TRIM(0))
    except Exception:   # (ctypes cannot fail here on glibc; a stripped-down libc must not break a node)
        return False


_PAGE_MIB = os.sysconf('SC_PAGE_SIZE') / 2 ** 20 if hasattr(os, 'sysconf') else 0.0


def resident_mib() -> float | None:
    """This process's resident memory (RSS) in MiB, from /proc/self/statm; None where there is no /proc.
    Cheap (one small read): for noticing growth, e.g. Vosk's graph cache (listening/recognizer.py)."""
    try:
        with open('/proc/self/statm', 'rb') as statm:
            return int(statm.read().split()[1]) * _PAGE_MIB
    except (OSError, ValueError, IndexError):
        return None
