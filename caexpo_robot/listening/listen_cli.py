"""`caexpo-robot listen FILE.wav [--language L]`: what the robot would hear in a recording from the hall.

One JSON line: the text, the language with its probability (detected among the robot's eleven unless
given), every candidate language, per-word confidences, and where the voice-activity detector found
speech. Any sample rate and channel count of 8/16/24/32-bit PCM WAV; a file that is not one, or is
corrupt, prints a JSON error line and exits 1. It runs Whisper base and the Silero VAD (the pieces the asr
node will use for the languages Vosk does not hear; until they are wired in, the node itself still hears
with Vosk only).
"""
from __future__ import annotations

import json
import sys
import time
import wave
from pathlib import Path

import numpy as np

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.audio import SAMPLE_RATE
from caexpo_robot.listening.endpoint import CONTINUE, END, START

PREROLL_S = 0.3     # audio before the VAD's start kept for the recognizer (the first consonant)
POSTROLL_S = 0.2


class ListenError(ValueError):
    """The file cannot be heard (not a PCM WAV, corrupt, empty); the message says why."""


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 samples in -1..1 and the file's sample rate."""
    try:
        with wave.open(str(path), 'rb') as wav:
            channels, width, rate, frames = wav.getnchannels(), wav.getsampwidth(), wav.getframerate(), \
                wav.getnframes()
            data = wav.readframes(frames)
    except (OSError, EOFError, wave.Error) as exc:
        raise ListenError(f'not a readable PCM WAV file: {exc}') from None
    if width not in (1, 2, 3, 4) or channels < 1 or not 8000 <= rate <= 192000:
        raise ListenError(f'unsupported WAV: {channels} channel(s), {8 * width}-bit, {rate} Hz')
    usable = len(data) // (width * channels) * width * channels
    if usable == 0:
        raise ListenError('the file holds no audio')
    raw = np.frombuffer(data[:usable], dtype=np.uint8).reshape(-1, width)
    if width == 1:
        samples = (raw[:, 0].astype(np.float32) - 128.0) / 128.0
    else:   # little-endian signed: sign-extend the top byte
        ints = np.zeros(len(raw), dtype=np.int64)
        for i in range(width):
            ints |= raw[:, i].astype(np.int64) << (8 * i)
        ints -= (ints >> (8 * width - 1)) << (8 * width)
        samples = (ints / float(1 << (8 * width - 1))).astype(np.float32)
    return samples.reshape(-1, channels).mean(axis=1), rate


def speech_span(audio16k: np.ndarray) -> tuple[float, float] | None:
    """Seconds from the first start to the last end the Silero VAD finds, or None (no speech)."""
    from caexpo_robot.listening.vad import VadConfig, make_segmenter
    segmenter = make_segmenter(VadConfig(mode='silero'))
    pcm = (np.clip(audio16k, -1, 1) * 32767).astype(np.int16)
    chunk = SAMPLE_RATE // 10
    start = end = None
    for i in range(0, len(pcm) - chunk + 1, chunk):
        step = segmenter.push(pcm[i:i + chunk])
        if step.state == START and start is None:
            start = i / SAMPLE_RATE
        if step.state in (START, CONTINUE, END):
            end = (i + chunk) / SAMPLE_RATE
    if start is None:
        return None
    return max(0.0, start - PREROLL_S), min(len(pcm) / SAMPLE_RATE, end + POSTROLL_S)


def listen(path: Path, language: str | None = None) -> dict:
    from caexpo_robot.listening.whisper import WhisperRecognizer, to_whisper_audio
    samples, rate = read_wav(path)
    audio = to_whisper_audio(samples, rate)
    span = speech_span(audio)
    result: dict = {'file': str(path), 'duration_s': round(len(audio) / SAMPLE_RATE, 2), 'engine': 'whisper-base',
                    'speech': None if span is None else [round(span[0], 2), round(span[1], 2)]}
    if span is None:
        return {**result, 'text': '', 'language': language, 'language_probability': None, 'languages': [],
                'words': []}
    heard = audio[int(span[0] * SAMPLE_RATE):int(span[1] * SAMPLE_RATE)]
    started = time.perf_counter()
    hypothesis = WhisperRecognizer().transcribe(heard, SAMPLE_RATE, language=language)
    return {**result, 'text': hypothesis.text, 'language': hypothesis.language,
            'language_probability': round(hypothesis.language_probability, 3),
            'languages': [[code, round(p, 3)] for code, p in hypothesis.language_probs[:3]],
            'words': [{'word': w.word, 'confidence': round(w.conf, 3)} for w in hypothesis.words],
            'decode_s': round(time.perf_counter() - started, 2)}


def listen_main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog='caexpo-robot listen', description=__doc__.split('\n')[0])
    parser.add_argument('file', type=Path)
    parser.add_argument('--language', choices=LANGUAGES, help='the language spoken (default: detect it)')
    args = parser.parse_args(argv)
    try:
        print(json.dumps(listen(args.file, args.language), ensure_ascii=False))
    except (ListenError, ValueError) as exc:
        print(json.dumps({'file': str(args.file), 'error': str(exc)}, ensure_ascii=False))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(listen_main(sys.argv[1:]))
