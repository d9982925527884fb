"""Robot audio format (16 kHz mono s16le), chunk validation, WAV reading and microphone capture.

Every chunk that reaches the recognizers went through `ChunkValidator`: malformed chunks are
dropped and counted by reason, never raised from the audio path and never silently lost.
"""
from __future__ import annotations

import queue
import threading
import wave
from collections import Counter
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path
from typing import Iterator

import numpy as np

SAMPLE_RATE = 16000
CHANNELS = 1
SAMPLE_WIDTH = 2  # bytes, signed 16-bit little endian
BYTES_PER_SECOND = SAMPLE_RATE * CHANNELS * SAMPLE_WIDTH
INT16_FULL_SCALE = 32768.0
# Below this the RMS is reported as this floor so digital silence has a finite level.
SILENCE_FLOOR_DBFS = -120.0


class AudioFormatError(ValueError):
    """A file or stream is not in (or trivially convertible to) the robot's audio format."""


class AudioDeviceError(RuntimeError):
    """No usable capture device: PortAudio missing, no input device, wrong name/index, busy device."""


def chunk_bytes(chunk_ms: int) -> int:
    """Byte length of a chunk of `chunk_ms` milliseconds in the robot format."""
    return SAMPLE_RATE * chunk_ms // 1000 * SAMPLE_WIDTH


def resample_int16(samples: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Polyphase resampling (scipy) of int16 samples, clipped back to int16 (the one resampler of robot audio:
    the tts node's echo reference and the simulator's speaker must agree sample for sample)."""
    if rate <= 0 or target <= 0:
        raise ValueError(f'sample rates must be positive, got {rate} -> {target}')
    if rate == target:
        return np.asarray(samples).astype(np.int16)
    from scipy.signal import resample_poly
    common = gcd(int(rate), int(target))
    out = resample_poly(np.asarray(samples).astype(np.float64), int(target) // common, int(rate) // common)
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def rms_dbfs(samples: np.ndarray) -> float:
    """Root-mean-square level of int16 samples in dB relative to full scale."""
    if samples.size == 0:
        return SILENCE_FLOOR_DBFS
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    if rms <= 0.0:
        return SILENCE_FLOOR_DBFS
    return max(SILENCE_FLOOR_DBFS, 20.0 * np.log10(rms / INT16_FULL_SCALE))


@dataclass
class ChunkValidator:
    """Turns raw chunks into int16 arrays at 16 kHz; counts drops (by reason) and clipped chunks.

    Resampling is only done when trivial: an integer multiple of 16 kHz (32 k, 48 k) is
    decimated after a box-filter average (a crude anti-alias, adequate for speech ASR).
    Any other rate is dropped with reason 'sample_rate'.
    """
    clip_fraction: float = 0.01  # a chunk is 'clipped' when this share of samples sits at full scale
    max_chunk_s: float = 2.0  # longer chunks are a producer bug (or a stalled buffer flush)
    drops: Counter = field(default_factory=Counter)
    accepted: int = 0
    clipped: int = 0

    def validate(self, data: bytes | bytearray | memoryview, sample_rate: int = SAMPLE_RATE,
                 channels: int = CHANNELS) -> np.ndarray | None:
        """The chunk as int16 mono 16 kHz samples, or None (and a counted drop) if unusable."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            return self._drop('not_bytes')
        size = len(data)
        if size == 0:
            return self._drop('empty')
        if channels != 1:
            return self._drop('channels')
        if size % SAMPLE_WIDTH:
            return self._drop('odd_byte_count')
        if sample_rate <= 0 or sample_rate % SAMPLE_RATE:
            return self._drop('sample_rate')
        if size / SAMPLE_WIDTH / sample_rate > self.max_chunk_s:
            return self._drop('too_long')
        samples = np.frombuffer(bytes(data), dtype='<i2')
        factor = sample_rate // SAMPLE_RATE
        if factor > 1:
            usable = samples.size - samples.size % factor
            if usable == 0:
                return self._drop('too_short')
            samples = samples[:usable].reshape(-1, factor).mean(axis=1).astype(np.int16)
        full_scale = np.count_nonzero((samples >= 32767) | (samples <= -32768))
        if full_scale and full_scale >= self.clip_fraction * samples.size:
            self.clipped += 1  # still usable for ASR; counted so the operator can lower the gain
        self.accepted += 1
        return samples

    def _drop(self, reason: str) -> None:
        self.drops[reason] += 1
        return None

    @property
    def dropped(self) -> int:
        return sum(self.drops.values())

    def stats(self) -> dict:
        return {'accepted': self.accepted, 'clipped': self.clipped, 'dropped': self.dropped,
                'drops': dict(self.drops)}


def iter_wav_chunks(path: str | Path, chunk_ms: int = 100) -> Iterator[bytes]:
    """Chunks of a 16 kHz mono 16-bit PCM WAV file, `chunk_ms` long (the last one may be shorter).

    Anything else is refused with AudioFormatError naming the sox command that converts it:
    silent conversion would hide that a test or simulation feeds audio the robot never produces.
    """
    if chunk_ms <= 0:
        raise ValueError(f'chunk_ms must be positive, got {chunk_ms}')
    path = Path(path)
    fix = f'convert with: sox {path} -r {SAMPLE_RATE} -c 1 -b 16 out.wav'
    try:
        reader = wave.open(str(path), 'rb')
    except (wave.Error, EOFError) as exc:
        raise AudioFormatError(f'{path}: not a PCM WAV file ({exc}); {fix}') from exc
    with reader:
        if reader.getsampwidth() != SAMPLE_WIDTH:
            raise AudioFormatError(
                f'{path}: {8 * reader.getsampwidth()}-bit samples, need 16-bit; {fix}')
        if reader.getnchannels() != CHANNELS:
            raise AudioFormatError(f'{path}: {reader.getnchannels()} channels, need mono; {fix}')
        if reader.getframerate() != SAMPLE_RATE:
            raise AudioFormatError(
                f'{path}: {reader.getframerate()} Hz, need {SAMPLE_RATE} Hz; {fix}')
        frames = SAMPLE_RATE * chunk_ms // 1000
        while True:
            data = reader.readframes(frames)
            if not data:
                return
            yield data


class MicrophoneCapture:
    """Captures 16 kHz mono s16 chunks from a sounddevice input into a bounded queue.

    The PortAudio callback only copies bytes into the queue; when the consumer falls behind the
    oldest chunk is discarded and counted in `overflow_drops` (fresh audio matters more).
    """

    def __init__(self, device: int | str | None = None, chunk_ms: int = 100,
                 queue_size: int = 50) -> None:
        self.device = device
        self.chunk_ms = chunk_ms
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=queue_size)
        self._stream = None
        self._lock = threading.Lock()
        self.overflow_drops = 0
        self.status_flags = 0  # PortAudio input over/underflow reports

    @property
    def running(self) -> bool:
        return self._stream is not None

    def _resolve_device(self, sd) -> int:
        try:
            devices = sd.query_devices()
        except Exception as exc:  # PortAudio errors surface as sounddevice.PortAudioError
            raise AudioDeviceError(f'cannot list audio devices: {exc}') from exc
        inputs = [(i, d) for i, d in enumerate(devices) if d.get('max_input_channels', 0) > 0]
        if not inputs:
            raise AudioDeviceError('no audio input device found (is a microphone connected?)')
        if self.device is None:
            try:
                default_index = sd.default.device[0]
            except Exception:
                default_index = -1
            if default_index is not None and default_index >= 0 and any(
                    i == default_index for i, _ in inputs):
                return default_index
            return inputs[0][0]
        if isinstance(self.device, int):
            if not any(i == self.device for i, _ in inputs):
                raise AudioDeviceError(
                    f'input device index {self.device} does not exist; inputs: '
                    + ', '.join(f'{i}: {d["name"]}' for i, d in inputs))
            return self.device
        matches = [i for i, d in inputs if str(self.device).lower() in d['name'].lower()]
        if not matches:
            raise AudioDeviceError(
                f'no input device named like {self.device!r}; inputs: '
                + ', '.join(f'{i}: {d["name"]}' for i, d in inputs))
        return matches[0]

    def start(self) -> None:
        """Opens the device; AudioDeviceError (never a crash) when there is none usable."""
        with self._lock:
            if self._stream is not None:
                return
            try:
                import sounddevice as sd
            except OSError as exc:  # libportaudio missing
                raise AudioDeviceError(f'PortAudio library not available: {exc}') from exc
            index = self._resolve_device(sd)
            try:
                stream = sd.RawInputStream(
                    samplerate=SAMPLE_RATE, channels=CHANNELS, dtype='int16', device=index,
                    blocksize=SAMPLE_RATE * self.chunk_ms // 1000, callback=self._on_audio)
                stream.start()
            except Exception as exc:
                raise AudioDeviceError(f'cannot open input device {index}: {exc}') from exc
            self._stream = stream

    def _on_audio(self, indata, frames, time_info, status) -> None:
        if status:
            self.status_flags += 1
        data = bytes(indata)
        try:
            self._queue.put_nowait(data)
        except queue.Full:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self.overflow_drops += 1
            try:
                self._queue.put_nowait(data)
            except queue.Full:
                self.overflow_drops += 1

    def read(self, timeout: float | None = None) -> bytes | None:
        """The next chunk, or None if none arrived within `timeout` seconds."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            return None

    def stop(self) -> None:
        with self._lock:
            stream, self._stream = self._stream, None
        if stream is not None:
            try:
                stream.stop()
            finally:
                stream.close()

    def __enter__(self) -> 'MicrophoneCapture':
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
