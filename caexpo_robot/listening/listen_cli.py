"""`caexpo-robot listen FILE.wav [--language L] [--config FILE]`: what the robot would hear in a recording.

The file goes through the asr node's own engine (listening/recognizer.py AsrEngine, built from
config/asr.yaml or --config exactly as the node builds it): resampled to 16 kHz, fed in 100 ms chunks
timed by the audio, voice activity, Vosk or Whisper per language, spoken language ID and the language
chooser, trust thresholds; the end of the file closes an utterance in progress. A file has no robot voice
in it: with duplex 'cancel' the echo canceller runs with a silent reference (as the node's does while the
robot is quiet), so barge-in never fires. `--language` is the visitor's language known (tapped on the
screen); without it the language is chosen as for a new visitor.

One JSON line: every utterance heard (text, language and its spoken probability, Whisper's three likeliest
languages, engine, trusted, mean word confidence, per-word confidences, start and end in seconds), the
texts joined, the last utterance's language, the file's duration and the Whisper decode time. Any sample
rate and channel count of 8/16/24/32-bit PCM WAV; a file that is not one or is corrupt, a bad config, a
language the robot cannot hear or a failed decode prints a JSON error line and exits 1.
"""
from __future__ import annotations

import json
import sys
import wave
from math import gcd
from pathlib import Path

import numpy as np

from caexpo_robot.language.languages import LANGUAGES
from caexpo_robot.listening.audio import SAMPLE_RATE

CHUNK_SAMPLES = SAMPLE_RATE // 10   # the microphone node's 100 ms chunks


class ListenError(ValueError):
    """The file cannot be heard (not a PCM WAV, corrupt, empty), or the robot cannot hear it; says why."""


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


def to_pcm16k(samples: np.ndarray, rate: int) -> np.ndarray:
    """Float samples at `rate` as the microphone's int16 at 16 kHz (polyphase resampling)."""
    if rate != SAMPLE_RATE:
        from scipy.signal import resample_poly
        common = gcd(rate, SAMPLE_RATE)
        samples = resample_poly(samples, SAMPLE_RATE // common, rate // common)
    return np.clip(np.round(samples * 32768.0), -32768, 32767).astype('<i2')


def chunks(pcm: np.ndarray):
    """(100 ms chunk, its start in seconds); the last one padded with silence to a whole chunk."""
    for i in range(0, pcm.size, CHUNK_SAMPLES):
        chunk = pcm[i:i + CHUNK_SAMPLES]
        if chunk.size < CHUNK_SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(CHUNK_SAMPLES - chunk.size, dtype='<i2')])
        yield chunk, i / SAMPLE_RATE


def build_engine(config_file: Path | None = None):
    """The asr node's engine from its config (ListenError when the config cannot be used)."""
    from caexpo_robot.config_files import ConfigError
    from caexpo_robot.listening.config import load_asr_config
    from caexpo_robot.listening.recognizer import AsrEngine
    try:
        config = load_asr_config(config_file)
    except ConfigError as exc:
        raise ListenError(str(exc)) from None
    engine = AsrEngine(config)
    if not engine.languages:
        raise ListenError('no recognizer loaded: ' + '; '.join(
            f'{code}: {status.state} ({status.detail})' for code, status in engine.statuses.items()))
    return engine


def utterance_json(utterance, spoken: tuple[tuple[str, float], ...] = ()) -> dict:
    """`spoken`: Whisper's language ID of the utterance (priors applied, best first), if Whisper heard it."""
    probability = utterance.language_probability
    return {'text': utterance.text, 'language': utterance.language,
            'language_probability': None if probability is None else round(probability, 3),
            'languages': [[code, round(p, 3)] for code, p in spoken[:3]],
            'engine': utterance.engine, 'trusted': utterance.trusted, 'confidence': round(utterance.confidence, 3),
            'words': [{'word': w.word, 'confidence': round(w.conf, 3)} for w in utterance.words],
            'start_s': round(max(0.0, utterance.start_t), 2), 'end_s': round(max(0.0, utterance.end_t), 2)}


def hear(engine, pcm: np.ndarray, language: str | None = None) -> tuple[list, float, list[str]]:
    """The file's 16 kHz int16 samples through `engine` as the asr node feeds it, for one visitor:
    ([(utterance, its spoken language ID)], Whisper decode seconds, decode errors)."""
    from caexpo_robot.listening.recognizer import Decode, Utterance
    if language is not None and language not in engine.languages:
        status = engine.statuses.get(language)
        why = f'{status.state}: {status.detail}' if status else 'not in the config languages'
        raise ListenError(f'the robot does not hear {language} ({why})')
    engine.new_visitor(language=language)
    utterances, decode_s, errors = [], 0.0, []
    spoken: dict[float, tuple] = {}   # an utterance's start -> the language ID of its latest decode

    def settle(results) -> None:
        nonlocal decode_s
        for item in results:
            if isinstance(item, Decode):   # run inline where the node's worker thread would
                result = engine.decode(item)
                decode_s += result.seconds
                spoken[item.start_t] = result.probabilities
                if result.error:
                    errors.append(result.error)
                settle(engine.complete(item, result))
            elif isinstance(item, Utterance):
                utterances.append((item, spoken.pop(item.start_t, ())))

    for chunk, t in chunks(pcm):
        settle(engine.process(chunk.tobytes(), t))
    settle(engine.flush(pcm.size / SAMPLE_RATE))
    return utterances, decode_s, errors


def listen(path: Path, language: str | None = None, config_file: Path | None = None, engine=None) -> dict:
    """What the robot hears in the WAV file at `path` (ListenError when it cannot). `engine`: an AsrEngine
    to reuse (one visitor per file: new_visitor() is called); None builds one from `config_file`."""
    samples, rate = read_wav(path)   # before loading any model: a bad file fails fast
    pcm = to_pcm16k(samples, rate)
    engine = engine or build_engine(config_file)
    utterances, decode_s, errors = hear(engine, pcm, language)
    if errors:
        raise ListenError(f'Whisper failed to decode: {errors[0]}')
    return {'file': str(path), 'text': ' '.join(u.text for u, _ in utterances if u.text),
            'language': utterances[-1][0].language if utterances else language,
            'utterances': [utterance_json(u, ids) for u, ids in utterances],
            'duration_s': round(pcm.size / SAMPLE_RATE, 2), 'decode_s': round(decode_s, 2)}


def listen_main(argv: list[str]) -> int:
    import argparse
    parser = argparse.ArgumentParser(prog='caexpo-robot listen', description=__doc__.split('\n')[0])
    parser.add_argument('file', type=Path)
    parser.add_argument('--language', choices=LANGUAGES,
                        help="the visitor's language, known (as if tapped on the screen); default: chosen "
                             'as for a new visitor')
    parser.add_argument('--config', type=Path, default=None,
                        help='speech recognition YAML (default: the packaged config/asr.yaml, as the asr node)')
    args = parser.parse_args(argv)
    try:
        print(json.dumps(listen(args.file, args.language, args.config), ensure_ascii=False))
    except ValueError as exc:   # ListenError, and any other input the engine refuses
        print(json.dumps({'file': str(args.file), 'error': str(exc)}, ensure_ascii=False))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(listen_main(sys.argv[1:]))
