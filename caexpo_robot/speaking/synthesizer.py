"""Text to audio with espeak-ng, through pyttsx3 (in process) or the espeak-ng command line.

Both backends are safe to call from a worker thread, reusable for a whole day of calls, validate the
voice id first (pyttsx3 ignores unknown voices silently and keeps the previous one) and raise
SynthesisError rather than return silence.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

MIN_RATE_WPM, MAX_RATE_WPM = 80, 450   # espeak-ng's usable range


class SynthesisError(RuntimeError):
    """The synthesizer could not produce audio for this text and voice."""


@dataclass
class Audio:
    samples: np.ndarray   # int16, mono
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0


class Synthesizer(Protocol):
    name: str

    def synthesize(self, text: str, voice: str, rate_wpm: int = 160) -> Audio: ...

    def voices(self) -> frozenset[str]: ...


def write_wav(path: str | Path, audio: Audio) -> None:
    samples = np.asarray(audio.samples)
    if samples.dtype != np.int16 or samples.ndim != 1:
        raise ValueError(f'audio must be mono int16, got {samples.dtype} with shape {samples.shape}')
    with wave.open(str(path), 'wb') as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(int(audio.sample_rate))
        f.writeframes(samples.astype('<i2').tobytes())


def read_wav(path: str | Path) -> Audio:
    """A 16-bit PCM WAV as mono int16 Audio (multi-channel files are averaged)."""
    try:
        with wave.open(str(path), 'rb') as f:
            if f.getsampwidth() != 2:
                raise ValueError(f'{path}: only 16-bit PCM WAV is supported, got {8 * f.getsampwidth()}-bit')
            channels, rate = f.getnchannels(), f.getframerate()
            data = np.frombuffer(f.readframes(f.getnframes()), dtype='<i2')
    except (wave.Error, EOFError) as exc:
        raise ValueError(f'{path}: not a readable WAV file ({exc})') from exc
    if channels > 1:
        data = data[: len(data) // channels * channels].reshape(-1, channels).mean(axis=1)
    return Audio(np.ascontiguousarray(data, dtype=np.int16), rate)


def _check_request(text: str, rate_wpm: int) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError('cannot synthesize empty text')
    if not MIN_RATE_WPM <= int(rate_wpm) <= MAX_RATE_WPM:
        raise ValueError(f'rate_wpm {rate_wpm} outside {MIN_RATE_WPM}..{MAX_RATE_WPM}')


def _voice_aliases(identifier: str, languages: list[str]) -> set[str]:
    """The names a voice answers to: 'poz/id', 'id' (its language) and the file name."""
    identifier = identifier.lower()
    return {identifier, identifier.rsplit('/', 1)[-1]} | {lang.lower() for lang in languages if lang}


class EspeakCliSynthesizer:
    """`espeak-ng -v VOICE -s RATE -w FILE` in a subprocess, text on stdin, with a timeout."""
    name = 'espeak-ng'

    def __init__(self, executable: str = 'espeak-ng', timeout_s: float = 30.0):
        path = shutil.which(executable)
        if path is None:
            raise SynthesisError(f'{executable} not found on PATH (apt install espeak-ng)')
        self._exe = path
        self._timeout_s = timeout_s
        self._voices: frozenset[str] | None = None

    def voices(self) -> frozenset[str]:
        if self._voices is None:
            try:
                out = subprocess.run([self._exe, '--voices'], capture_output=True, text=True,
                                     timeout=self._timeout_s, check=True).stdout
            except (OSError, subprocess.SubprocessError) as exc:
                raise SynthesisError(f'cannot list espeak-ng voices: {exc}') from exc
            names: set[str] = set()
            for line in out.splitlines()[1:]:
                cols = line.split()
                if len(cols) >= 5:   # Pty Language Age/Gender VoiceName File ...
                    names |= _voice_aliases(cols[4], [cols[1]])
            self._voices = frozenset(names)
        return self._voices

    def synthesize(self, text: str, voice: str, rate_wpm: int = 160) -> Audio:
        _check_request(text, rate_wpm)
        if str(voice).lower() not in self.voices():
            raise SynthesisError(f'espeak-ng has no voice {voice!r}')
        fd, wav_path = tempfile.mkstemp(prefix='caexpo_tts_', suffix='.wav')
        os.close(fd)
        try:
            try:
                proc = subprocess.run(
                    [self._exe, '-v', voice, '-s', str(int(rate_wpm)), '-w', wav_path, '--stdin'],
                    input=text.encode('utf-8'), capture_output=True, timeout=self._timeout_s)
            except subprocess.TimeoutExpired as exc:
                raise SynthesisError(f'espeak-ng took longer than {self._timeout_s:.0f} s') from exc
            except OSError as exc:
                raise SynthesisError(f'cannot run espeak-ng: {exc}') from exc
            if proc.returncode != 0:
                raise SynthesisError(f'espeak-ng failed ({proc.returncode}): '
                                     f'{proc.stderr.decode(errors="replace").strip()}')
            return _non_empty(read_wav(wav_path), voice)
        finally:
            Path(wav_path).unlink(missing_ok=True)


# pyttsx3's espeak driver is one process-wide espeak instance: one lock for every user of it.
_PYTTSX3_LOCK = threading.Lock()


# Voices whose espeak-ng 1.51 code can abort the process on some input (Burmese: "buffer overflow
# detected", SIGABRT). In process that would kill the node, so pyttsx3 hands them to a subprocess.
CRASH_PRONE_VOICES = ('my',)


class Pyttsx3Synthesizer:
    """pyttsx3 2.99 driving libespeak-ng in process: save_to_file to a temp WAV, then runAndWait.

    Voices in isolated_voices are synthesized by the espeak-ng command instead, so a crash of the
    espeak-ng code costs one utterance (SynthesisError), not the process.
    """
    name = 'pyttsx3'

    def __init__(self, isolated_voices: tuple[str, ...] = CRASH_PRONE_VOICES):
        try:
            import pyttsx3
            import pyttsx3.drivers.espeak as espeak_driver
            from pyttsx3.drivers import _espeak
        except ImportError as exc:
            raise SynthesisError(f'pyttsx3 or its espeak driver is unavailable: {exc}') from exc
        # The driver prints "Audio saved to ..." on every file; silence only that module's print.
        espeak_driver.print = lambda *args, **kwargs: None
        self._espeak = _espeak
        with _PYTTSX3_LOCK:
            try:
                self._engine = pyttsx3.init('espeak')  # strong reference: pyttsx3 keeps only a weak one
            except Exception as exc:  # RuntimeError from libespeak init, OSError for a missing library
                raise SynthesisError(f'cannot start pyttsx3 with espeak-ng: {exc}') from exc
            self._errors: list[BaseException] = []
            self._engine.connect('error', lambda name=None, exception=None: self._errors.append(exception))
            self._voice_ids = {}
            for v in self._engine.getProperty('voices'):
                for alias in _voice_aliases(v.id, list(v.languages or [])):
                    self._voice_ids.setdefault(alias, v.id)
        self._isolated = {self._voice_ids[v.lower()] for v in isolated_voices if v.lower() in self._voice_ids}
        self._subprocess: EspeakCliSynthesizer | None = None

    def voices(self) -> frozenset[str]:
        return frozenset(self._voice_ids)

    def synthesize(self, text: str, voice: str, rate_wpm: int = 160) -> Audio:
        _check_request(text, rate_wpm)
        voice_id = self._voice_ids.get(str(voice).lower())
        if voice_id is None:
            raise SynthesisError(f'pyttsx3/espeak-ng has no voice {voice!r}')
        if voice_id in self._isolated:
            if self._subprocess is None:
                self._subprocess = EspeakCliSynthesizer()
            return self._subprocess.synthesize(text, voice, rate_wpm)
        fd, wav_path = tempfile.mkstemp(prefix='caexpo_tts_', suffix='.wav')
        os.close(fd)
        Path(wav_path).unlink()   # so a stale empty file cannot pass for output
        try:
            with _PYTTSX3_LOCK:
                self._errors.clear()
                # Rate, voice, rate again: with only voice-then-rate, espeak-ng kept the previous rate
                # in 25 of 30 calls with changing rates (measured against the espeak-ng command);
                # in this order 0 of 150.
                self._engine.setProperty('rate', int(rate_wpm))
                self._engine.setProperty('voice', voice_id)
                self._engine.setProperty('rate', int(rate_wpm))
                self._engine.save_to_file(text, wav_path)
                # libespeak-ng synthesizes in its own thread: a call right after the previous one saw
                # that one's late end-of-message event and wrote an empty file. Wait for it to go idle.
                self._espeak.Synchronize()
                try:
                    self._engine.runAndWait()
                except Exception as exc:
                    self._recover()
                    raise SynthesisError(f'pyttsx3 failed: {exc}') from exc
                finally:
                    self._espeak.Synchronize()
                if self._errors:
                    raise SynthesisError(f'pyttsx3 reported: {self._errors[0]!r}')
                if self._engine.getProperty('voice') != voice_id:
                    raise SynthesisError(f'pyttsx3 did not switch to voice {voice!r} ({voice_id})')
            if not Path(wav_path).is_file():
                raise SynthesisError('pyttsx3 wrote no audio file')
            return _non_empty(read_wav(wav_path), voice)
        finally:
            Path(wav_path).unlink(missing_ok=True)

    def _recover(self) -> None:
        """Leave the engine usable after a failed run (it would refuse the next one)."""
        self._engine._inLoop = False
        self._engine.proxy._queue.clear()
        self._engine.proxy.setBusy(False)


def _non_empty(audio: Audio, voice: str) -> Audio:
    if audio.samples.size == 0 or not np.any(audio.samples):
        raise SynthesisError(f'voice {voice!r} produced no audio for this text')
    return audio


def create_synthesizer(backend: str = 'pyttsx3') -> Synthesizer:
    """'pyttsx3' (in process) or 'espeak-ng' (subprocess)."""
    if backend == 'pyttsx3':
        return Pyttsx3Synthesizer()
    if backend in ('espeak-ng', 'espeak'):
        return EspeakCliSynthesizer()
    raise ValueError(f'unknown TTS backend {backend!r}; use "pyttsx3" or "espeak-ng"')


def espeak_phonemes(text: str, voice: str, timeout_s: float = 30.0) -> str:
    """espeak-ng's phoneme transcription (`-q -x`): shows how a voice will read text, e.g. whether
    it switches to English "(en)" to read tone digits as numbers."""
    if not text.strip():
        raise ValueError('cannot transcribe empty text')
    try:
        proc = subprocess.run(['espeak-ng', '-q', '-x', '-v', voice, '--stdin'], input=text.encode('utf-8'),
                              capture_output=True, timeout=timeout_s)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SynthesisError(f'cannot run espeak-ng: {exc}') from exc
    if proc.returncode != 0:
        raise SynthesisError(f'espeak-ng -x failed ({proc.returncode}): {proc.stderr.decode(errors="replace")}')
    return proc.stdout.decode('utf-8', errors='replace')
