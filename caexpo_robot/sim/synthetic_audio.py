"""Synthetic audio in the robot format for the simulator, tests and benchmarks:
espeak-ng speech (a stand-in visitor) and seeded noise."""
from __future__ import annotations

import io
import shutil
import subprocess
import wave

import numpy as np

from caexpo_robot.listening.audio import INT16_FULL_SCALE, SAMPLE_RATE, resample_int16


def synthesize_speech(text: str, voice: str, words_per_minute: int = 160,
                      timeout_s: float = 20.0) -> bytes:
    """`text` spoken by espeak-ng voice `voice`, as 16 kHz mono s16le PCM."""
    exe = shutil.which('espeak-ng')
    if exe is None:
        raise RuntimeError('espeak-ng is not installed (apt install espeak-ng)')
    result = subprocess.run([exe, '-v', voice, '-s', str(words_per_minute), '--stdout', text],
                            capture_output=True, timeout=timeout_s, check=False)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f'espeak-ng failed for voice {voice!r}: {result.stderr.decode()[:200]}')
    with wave.open(io.BytesIO(result.stdout)) as reader:
        rate = reader.getframerate()
        samples = np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2')
    return resample_int16(samples, rate).tobytes()


def noise(duration_s: float, level_dbfs: float, seed: int = 0) -> bytes:
    """White noise at an RMS of `level_dbfs`, as 16 kHz mono s16le PCM."""
    rng = np.random.default_rng(seed)
    rms = INT16_FULL_SCALE * 10 ** (level_dbfs / 20.0)
    values = rng.normal(0.0, rms, int(duration_s * SAMPLE_RATE))
    return np.clip(np.round(values), -32768, 32767).astype(np.int16).tobytes()


def split_chunks(pcm: bytes, chunk_ms: int = 100) -> list[bytes]:
    size = SAMPLE_RATE * chunk_ms // 1000 * 2
    return [pcm[i:i + size] for i in range(0, len(pcm), size)]
