"""Endpointer comparison: energy (today's UtteranceSegmenter) vs Silero VAD vs combined (energy AND
VAD to open, VAD to close) vs combined+e (the same, closing also when the level falls back to the
hall's floor: VadConfig.combined_end='vad_or_energy'), on the same audio, in 100 ms chunks as the
microphone node publishes.

    .venv/bin/python bench/bench_vad.py [--snr 20 10 5 0] [--seed 0] [--gap 3.5]

The visitor: the three phrases of the recorded English digits (../shared/data/speech/
en_digits_test.wav), each at speeds 0.9, 1.0 and 1.1 (9 utterances), 3-4.5 s apart after a 4 s
lead-in, over a faint pink floor (-65 dBFS). Onset/offset of each is measured by level in the
clean recording. Hall-like noise is added at each SNR (speech active level vs noise RMS; for the
PA, the RMS while it talks):
  babble  8 talkers looped with random offsets (espeak-ng voices in 6 languages + the recording
          resampled to other pitches), a 1 s hall reverb
  pa      espeak-ng announcements (en, cmn, vi) band-limited 300-3400 Hz, echoes at 120/250/400 ms
          and a 1.5 s reverb; ~5 s on, ~5 s off, unrelated to the visitor's timing
  music   synthetic chords, bass line, kick and hi-hat at 120 bpm, light reverb

Per condition and method:
  heard     visitor utterances overlapped by an opened utterance / all
  false     utterances opened that overlap no visitor speech (nor its 0.5 s after)
  split     extra utterances inside one visitor utterance (cut in two: early end, re-open)
  cut       heard utterances closed before the measured speech offset and not re-opened: the
            end of what the visitor said is lost (or, in a faint tail, only its tail)
  miss_end  heard utterances whose utterance was not closed within 2 s after the speech ended
  delay     end-of-speech delay: time the END decision is available (end of its 100 ms chunk)
            minus the measured speech offset (the last window 10 dB over the recording's floor, so
            a faint tail counts as speech: a method that ends at a louder level can score < 0.5 s);
            median and p90 over the utterances closed within 2 s
  cpu       process CPU time of the segmenter (level, model) per second of audio, ms/s
espeak-ng's synthetic speech stands in for hall talk and PA; real hall recordings must confirm this.
"""
from __future__ import annotations

import argparse
import shutil
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.signal import butter, fftconvolve, resample_poly, sosfilt

from caexpo_robot.listening.endpoint import END, START
from caexpo_robot.listening.vad import SileroVad, VadConfig, make_segmenter
from caexpo_robot.sim.synthetic_audio import synthesize_speech

RATE = 16000
CHUNK = 1600
SPEECH = Path(__file__).resolve().parents[2] / 'shared' / 'data' / 'speech' / 'en_digits_test.wav'
BABBLE_TEXT = [
    ('en-us', 'Excuse me, where can I find the booth for the agricultural machinery companies from Thailand?'),
    ('vi', 'Xin chào, gian hàng của công ty chúng tôi ở khu vực B, tầng hai, gần lối ra phía đông.'),
    ('cmn', '你好，请问今天下午的投资论坛在哪个会议室举行？我们想参加。'),
    ('id', 'Selamat siang, kami dari Jakarta dan ingin bertemu dengan perwakilan dagang Malaysia.'),
    ('ms', 'Terima kasih, produk kami sangat popular di pasaran Asia Tenggara sejak tahun lepas.'),
    ('th', 'สวัสดีครับ ผมอยากทราบว่าห้องน้ำอยู่ที่ไหน และร้านกาแฟเปิดกี่โมง'),
]
PA_TEXT = [
    ('en-gb', 'Ladies and gentlemen, the opening ceremony will begin in hall A in fifteen minutes.'),
    ('cmn', '各位来宾，开幕式将在十五分钟后于A馆开始，请提前入场。'),
    ('vi', 'Kính thưa quý khách, lễ khai mạc sẽ bắt đầu tại sảnh A sau mười lăm phút nữa.'),
]


# --- signals -----------------------------------------------------------------------------------
def read_speech() -> np.ndarray:
    with wave.open(str(SPEECH)) as reader:
        return np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2').astype(np.float64)


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x)))) if x.size else 0.0


def phrases_by_level(x: np.ndarray, window_s: float = 0.02, gap_s: float = 0.3) -> list[tuple[int, int]]:
    """(onset, offset) samples: 20 ms windows 10 dB over the 20th-percentile floor; a phrase starts at
    >= 60 ms of them and ends at its last loud window followed by gap_s of quiet."""
    n = int(window_s * RATE)
    level = 20 * np.log10(np.sqrt(np.mean(x[:x.size // n * n].reshape(-1, n) ** 2, axis=1)) + 1e-9)
    loud = level > np.percentile(level, 20) + 10.0
    gap = int(gap_s / window_s)
    out, i = [], 0
    while i < loud.size:
        if loud[i:i + 3].all():
            end = i
            while end + 1 < loud.size and loud[end + 1:end + 1 + gap].any():
                end += 1 + int(np.argmax(loud[end + 1:end + 1 + gap]))
            out.append((i * n, (end + 1) * n))
            i = end + 1
        else:
            i += 1
    return out


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms windows within 15 dB of the loudest 5 % (speech 'active level')."""
    n = 320
    frames = x[:x.size // n * n].reshape(-1, n)
    levels = np.sqrt(np.mean(frames ** 2, axis=1)) + 1e-12
    keep = 20 * np.log10(levels) > 20 * np.log10(np.percentile(levels, 95)) - 15
    return float(np.sqrt(np.mean(levels[keep] ** 2)))


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spectrum = np.fft.rfft(rng.normal(size=n))
    spectrum[1:] /= np.sqrt(np.arange(1, spectrum.size))
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return x / rms(x)


def reverb(x: np.ndarray, rt60: float, wet: float, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(int(rt60 * RATE)) / RATE
    ir = rng.normal(size=t.size) * np.exp(-6.9 * t / rt60)
    ir[:int(0.01 * RATE)] *= np.linspace(0, 1, int(0.01 * RATE))   # no direct-path spike in the tail
    tail = fftconvolve(x, ir)[:x.size]
    tail *= rms(x) / max(rms(tail), 1e-12)
    return (1 - wet) * x + wet * tail


def speed(x: np.ndarray, factor: float) -> np.ndarray:
    """Play `factor` times faster (pitch shifts with it): a different-sounding talker."""
    up, down = {0.85: (20, 17), 0.9: (10, 9), 1.0: (1, 1), 1.1: (10, 11), 1.2: (5, 6)}[factor]
    return resample_poly(x, up, down) if factor != 1.0 else x.copy()


def loop_to(x: np.ndarray, n: int, offset: int, pause: int) -> np.ndarray:
    unit = np.concatenate([x, np.zeros(pause)])
    reps = int(np.ceil((n + offset) / unit.size)) + 1
    return np.tile(unit, reps)[offset:offset + n]


def espeak(voice: str, text: str, pitch: int | None = None) -> np.ndarray:
    if pitch is None:
        return np.frombuffer(synthesize_speech(text, voice), dtype='<i2').astype(np.float64)
    import io
    import subprocess
    out = subprocess.run(['espeak-ng', '-v', voice, '-p', str(pitch), '-s', '165', '--stdout', text],
                         capture_output=True, check=True, timeout=30).stdout
    with wave.open(io.BytesIO(out)) as reader:
        rate = reader.getframerate()
        x = np.frombuffer(reader.readframes(reader.getnframes()), dtype='<i2').astype(np.float64)
    return resample_poly(x, RATE // np.gcd(rate, RATE), rate // np.gcd(rate, RATE))


def babble(n: int, recording: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    talkers = [espeak(voice, text, pitch=int(rng.integers(25, 75))) for voice, text in BABBLE_TEXT]
    talkers += [speed(recording, 0.85), speed(recording, 1.2)]
    mix = np.zeros(n)
    for x in talkers:
        x = x / rms(x) * 10 ** (rng.uniform(-3, 3) / 20)
        mix += loop_to(x, n, int(rng.integers(0, x.size)), int(rng.integers(0, RATE // 2)))
    return reverb(mix, 1.0, 0.5, rng)


def pa(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The PA signal and a mask of where it talks (for its active RMS)."""
    sos = butter(4, [300, 3400], btype='bandpass', fs=RATE, output='sos')
    out, mask = np.zeros(n), np.zeros(n, dtype=bool)
    clips = [sosfilt(sos, espeak(voice, text)) for voice, text in PA_TEXT]
    at, k = int(rng.uniform(1, 3) * RATE), 0
    while at < n:
        clip = clips[k % len(clips)]
        clip = clip / rms(clip)
        echoed = clip.copy()
        for delay, gain in ((0.12, 0.5), (0.25, 0.3), (0.4, 0.15)):
            d = int(delay * RATE)
            echoed = echoed + gain * np.concatenate([np.zeros(d), clip])[:clip.size]
        echoed = reverb(echoed, 1.5, 0.4, rng)
        end = min(n, at + echoed.size)
        out[at:end] += echoed[:end - at]
        mask[at:end] = True
        at = end + int(rng.uniform(4, 7) * RATE)
        k += 1
    return out, mask


def music(n: int, rng: np.random.Generator) -> np.ndarray:
    beat = RATE // 2   # 120 bpm
    t = np.arange(beat) / RATE
    pluck = np.exp(-t / 0.3) * np.minimum(1, t / 0.005)
    progression = [261.63, 392.00, 440.00, 349.23]   # C G Am F
    bars = []
    for k in range(int(np.ceil(n / beat)) + 1):
        root = progression[(k // 4) % 4]
        third = 2 ** (3 / 12) if root == 440.00 else 2 ** (4 / 12)
        chord = sum(np.sin(2 * np.pi * f * h * t) / h ** 1.5
                    for f in (root, root * third, root * 2 ** (7 / 12)) for h in (1, 2, 3, 4))
        bass = np.sin(2 * np.pi * root / 4 * t) * np.exp(-t / 0.4) * 1.5
        kick = np.sin(2 * np.pi * (50 + 80 * np.exp(-t / 0.03)) * t) * np.exp(-t / 0.12) * 2.0
        hat = np.zeros(beat)
        hat[beat // 2:beat // 2 + 800] = rng.normal(size=800) * np.exp(-np.arange(800) / 150) * 0.6
        bars.append(chord * pluck + bass + (kick if k % 2 == 0 else 0) + hat)
    return reverb(np.concatenate(bars)[:n], 0.6, 0.2, rng)


# --- scene -------------------------------------------------------------------------------------
@dataclass
class Scene:
    visitor: np.ndarray                 # visitor speech + floor
    truth: list[tuple[float, float]]    # (onset, offset) seconds
    speech_rms: float


def build_scene(recording: np.ndarray, gap_s: float, rng: np.random.Generator) -> Scene:
    clips = []
    for factor in (0.9, 1.0, 1.1):
        x = speed(recording, factor)
        for onset, offset in phrases_by_level(x):
            a, b = max(0, onset - int(0.15 * RATE)), min(x.size, offset + int(0.15 * RATE))
            clips.append((x[a:b], onset - a, offset - a))
    order = rng.permutation(len(clips))
    pieces, truth, at = [np.zeros(4 * RATE)], [], 4 * RATE
    for i in order:
        clip, on, off = clips[i]
        pieces.append(clip)
        truth.append(((at + on) / RATE, (at + off) / RATE))
        at += clip.size
        gap = int(rng.uniform(gap_s, gap_s + 1.0) * RATE)
        pieces.append(np.zeros(gap))
        at += gap
    speech = np.concatenate(pieces)
    floor = pink(speech.size, rng) * 32768 * 10 ** (-65 / 20)
    return Scene(speech + floor, truth, active_rms(recording))


def noise_tracks(n: int, recording: np.ndarray, seed: int) -> dict[str, tuple[np.ndarray, float]]:
    """Each noise and its reference RMS (for the PA: while it talks)."""
    rng = np.random.default_rng(seed + 100)
    tracks = {}
    b = babble(n, recording, rng)
    tracks['babble'] = (b, rms(b))
    p, mask = pa(n, rng)
    tracks['pa'] = (p, rms(p[mask]))
    m = music(n, rng)
    tracks['music'] = (m, rms(m))
    return tracks


# --- scoring -----------------------------------------------------------------------------------
def run(segmenter, audio: np.ndarray) -> tuple[list[tuple[float, float, str]], float]:
    """Utterance intervals (start, end or inf, reason) and CPU seconds."""
    samples = np.clip(np.round(audio), -32768, 32767).astype(np.int16)
    intervals, opened = [], None
    cpu = time.process_time()
    for i in range(0, samples.size, CHUNK):
        step = segmenter.push(samples[i:i + CHUNK])
        t = min(i + CHUNK, samples.size) / RATE
        if step.state == START:
            opened = t
        elif step.state == END and opened is not None:
            intervals.append((opened, t, step.reason))
            opened = None
    cpu = time.process_time() - cpu
    if opened is not None:
        intervals.append((opened, float('inf'), 'open'))
    return intervals, cpu


def score(intervals, truth, end_tolerance: float = 2.0) -> dict:
    # an interval's START is decided at its chunk end; the audio it covers began up to start_speech earlier
    def overlaps(iv, a, b):
        return iv[0] - 0.3 <= b and iv[1] >= a
    heard = false = split = missed_end = cut = 0
    delays = []
    for iv in intervals:
        if not any(overlaps(iv, a, b + 0.5) for a, b in truth):
            false += 1
    for onset, offset in truth:
        mine = [iv for iv in intervals if overlaps(iv, onset, offset)]
        if not mine:
            continue
        heard += 1
        split += len(mine) - 1
        closing = [iv for iv in mine if iv[0] - 0.3 <= offset <= iv[1]] or mine[-1:]
        end = closing[0][1]
        if end > offset + end_tolerance:
            missed_end += 1
        else:
            delays.append(end - offset)   # < 0: closed before the measured end (see 'cut')
            cut += end < offset
    return {'heard': heard, 'false': false, 'split': split, 'miss_end': missed_end, 'cut': cut, 'delays': delays}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--snr', type=float, nargs='+', default=[20.0, 10.0, 5.0, 0.0])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--gap', type=float, default=3.5, help='minimum seconds between visitor utterances')
    args = parser.parse_args()
    if not SPEECH.is_file():
        raise SystemExit(f'{SPEECH} not found')
    if shutil.which('espeak-ng') is None:
        raise SystemExit('espeak-ng is not installed')
    recording = read_speech()
    scene = build_scene(recording, args.gap, np.random.default_rng(args.seed))
    n = scene.visitor.size
    tracks = noise_tracks(n, recording, args.seed)
    vad = SileroVad()
    methods = {m: VadConfig(mode=m) for m in ('energy', 'silero', 'combined')}
    methods['combined+e'] = VadConfig(mode='combined', combined_end='vad_or_energy')
    conditions = [('clean', None, None)] + [(name, snr, tracks[name]) for name in ('babble', 'pa', 'music')
                                             for snr in args.snr]
    print(f'{len(scene.truth)} visitor utterances in {n / RATE:.0f} s of audio per condition; 100 ms chunks; '
          f'end-silence {methods["silero"].end_silence_s} s (energy: EndpointConfig defaults)')
    print(f'{"condition":14} {"method":10} {"heard":>6} {"false":>6} {"split":>6} {"miss_end":>8} {"cut":>4} '
          f'{"delay_med":>9} {"delay_p90":>9} {"cpu_ms/s":>8}')
    for name, snr, track in conditions:
        audio = scene.visitor.copy()
        if track is not None:
            noise, reference = track
            audio += noise / reference * scene.speech_rms * 10 ** (-snr / 20)
        label = name if snr is None else f'{name} {snr:g} dB'
        for method, config in methods.items():
            vad.reset()
            intervals, cpu = run(make_segmenter(config, None, vad), audio)
            s = score(intervals, scene.truth)
            delays = np.array(s['delays'])
            med = f'{np.median(delays):.2f}' if delays.size else '-'
            p90 = f'{np.percentile(delays, 90):.2f}' if delays.size else '-'
            print(f'{label:14} {method:10} {s["heard"]:>3}/{len(scene.truth):<2} {s["false"]:>6} {s["split"]:>6} '
                  f'{s["miss_end"]:>8} {s["cut"]:>4} {med:>9} {p90:>9} {cpu / (n / RATE) * 1000:>8.1f}')


if __name__ == '__main__':
    main()
