"""DecodeWorker: decodes off the caller's thread, and freed heap memory given back when it goes idle.

The memory test runs a real Whisper base decode (as test_listening_engine.py, Whisper only: no Vosk model
to load) and reads the process's RSS from /proc right before and after the worker's trim.
"""
import ctypes
import threading
import wave

import numpy as np
import pytest

from caexpo_robot.listening.config import load_asr_config
from caexpo_robot.listening.decode_worker import DecodeWorker
from caexpo_robot.listening.language_choice import script_lid
from caexpo_robot.listening.models import whisper_status
from caexpo_robot.listening.recognizer import AsrEngine, Decode, DecodeResult
from caexpo_robot.memory import TRIM_AVAILABLE, release_free_memory, resident_mib

glibc_only = pytest.mark.skipif(not TRIM_AVAILABLE, reason='not glibc: no malloc_trim')


def rss_mib() -> float:
    with open('/proc/self/status') as status:
        for line in status:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    raise AssertionError('no VmRSS in /proc/self/status')


def decode_request(request_id: int, audio: np.ndarray) -> Decode:
    return Decode(id=request_id, audio=audio, candidates=('en', 'vi', 'ko'), whisper_languages=('en', 'vi', 'ko'),
                  locked=None, priors={}, switch_probability=0.1, skip_transcript=frozenset(), start_t=0.0,
                  final=True)


@glibc_only
def test_release_free_memory_gives_freed_small_blocks_back():
    # 100k blocks of 1 KiB (below glibc's mmap threshold: they live in the heap, freed they stay in it)
    libc = ctypes.CDLL(None)
    libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    release_free_memory()
    blocks = [libc.malloc(1024) for _ in range(100_000)]
    for block in blocks:
        ctypes.memset(block, 1, 1024)   # touched: resident
    for block in reversed(blocks[1:]):   # the first one stays: the heap's top is not simply cut back
        libc.free(block)
    before = rss_mib()
    assert release_free_memory() is True
    assert rss_mib() < before - 50   # ~98 MiB were freed
    libc.free(blocks[0])


def test_resident_mib_is_the_process_rss_and_follows_what_it_touches():
    assert abs(resident_mib() - rss_mib()) < 2
    before = resident_mib()
    block = np.ones(64 * 2**20, np.uint8)   # 64 MiB, touched
    assert resident_mib() > before + 60
    del block


class GatedEngine:
    """An engine whose decodes wait for a gate, logging decodes and trims in the order they happen."""

    def __init__(self, log: list) -> None:
        self.log, self.gate = log, threading.Event()

    def decode(self, request):
        self.gate.wait(10)
        self.log.append(f'decode {request.id}')
        return DecodeResult((), {})

    def complete(self, request, result):
        return []


def test_the_worker_trims_at_start_and_once_its_queue_is_empty_never_between_queued_decodes():
    log: list = []
    idle = threading.Event()
    engine = GatedEngine(log)

    def release():
        log.append('trim')
        idle.set()
        return True
    worker = DecodeWorker(engine, lambda: None, release=release)
    assert log == ['trim'] and worker.trims == 1
    idle.clear()
    for request_id in (1, 2, 3):
        worker.submit(decode_request(request_id, np.zeros(1600, np.int16)))
    engine.gate.set()
    assert idle.wait(10)
    worker.close()
    assert log == ['trim', 'decode 1', 'decode 2', 'decode 3', 'trim']
    assert worker.trims == 2 and worker.busy == 3   # not drained yet: the trim does not wait for that
    worker.drain()
    assert worker.busy == 0


@glibc_only
@pytest.mark.skipif(whisper_status().state != 'installed', reason='Whisper base not assembled')
def test_after_a_real_whisper_decode_the_trim_gives_its_working_memory_back(shared_data):
    config = load_asr_config()
    config = type(config).model_validate({**config.model_dump(), 'engines': {}})   # Whisper alone
    engine = AsrEngine(config, text_lid=script_lid)   # loads Whisper base and decodes once (warm_up)
    with wave.open(str(shared_data / 'speech' / 'en_digits_test.wav'), 'rb') as wav:
        digits = np.frombuffer(wav.readframes(wav.getnframes()), dtype='<i2')
    trims: list[tuple[float, float]] = []
    trimmed = threading.Event()

    def measured_release():
        before = rss_mib()
        release_free_memory()
        trims.append((before, rss_mib()))
        trimmed.set()
        return True
    worker = DecodeWorker(engine, lambda: None, release=measured_release)
    trimmed.clear()
    worker.submit(decode_request(1, digits[:3 * 16000]))   # "one zero zero zero one"
    assert trimmed.wait(60)
    worker.close()
    request, result = worker.done.get()
    assert not result.error and result.probabilities[0][0] == 'en'   # a real decode ran
    before, after = trims[-1]
    # measured: 341 -> 260 MiB (the decoder's freed buffers); glibc would keep them without the trim
    assert after < before - 20, trims
