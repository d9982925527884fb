"""ASR figures: per installed model its load time, memory (RSS delta) and real-time factor in
free and grammar mode, plus the throughput of the silence path (the configured VAD, no recognizer).

    .venv/bin/python bench/bench_asr.py [--config config/asr.yaml] [--seconds 20]

Speech is espeak-ng in the model's language (Korean here), padded with -60 dBFS noise; the RTF
is decoding time / audio time fed to the recognizer (lower is faster; < 1 keeps up live).
"""
from __future__ import annotations

import argparse
import gc
import time

import psutil

from caexpo_robot.listening.config import load_asr_config
from caexpo_robot.listening.models import model_status
from caexpo_robot.listening.recognizer import LanguageRecognizer, load_vosk_model
from caexpo_robot.sim.synthetic_audio import noise, split_chunks, synthesize_speech

SAMPLE_TEXT = {  # (espeak-ng voice, sentence)
    'ko': ('ko', '화장실은 어디예요. 전시회는 몇 시에 시작해요. 회의실은 어디예요.'),
    'en': ('en-us', 'Where is the toilet. When does the exhibition open. Where is the meeting room.'),
    'zh': ('cmn', '厕所在哪里。展览几点开始。会议室在哪里。'),
    'vi': ('vi', 'Nhà vệ sinh ở đâu. Triển lãm mấy giờ mở cửa. Phòng họp ở đâu.'),
    'fil': ('fil', 'Nasaan ang banyo. Anong oras magbubukas ang eksibisyon.'),
}


def decode_rtf(recognizer: LanguageRecognizer, pcm: bytes) -> tuple[float, str]:
    started = time.perf_counter()
    for chunk in split_chunks(pcm):
        recognizer.accept(chunk)
    text = recognizer.finish().text
    return (time.perf_counter() - started) / (len(pcm) / 32000), text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--config')
    parser.add_argument('--seconds', type=float, default=20.0,
                        help='approximate seconds of speech per measurement')
    args = parser.parse_args()
    config = load_asr_config(args.config)
    process = psutil.Process()
    print(f'{"lang":5} {"state":13} {"load s":>7} {"RSS MB":>7} {"RTF 1st":>8} {"RTF free":>9} '
          f'{"RTF gram":>9}  free-mode text (first 40 chars)')
    for language in config.languages:
        status = model_status(language, config.models)
        if status.state != 'installed':
            print(f'{language:5} {status.state:13} {"-":>7} {"-":>7} {"-":>8} {"-":>9} {"-":>9}  '
                  f'{status.detail[:60]}')
            continue
        gc.collect()
        before = process.memory_info().rss
        started = time.perf_counter()
        model = load_vosk_model(status.path, cache=False)
        grammars = {m: per[language] for m, per in config.grammars.items() if language in per}
        recognizer = LanguageRecognizer(language, model, grammars)
        load_s = time.perf_counter() - started
        voice, sentence = SAMPLE_TEXT.get(language, ('en-us', 'hello'))
        speech = synthesize_speech(sentence, voice)
        pcm = b''
        while len(pcm) < args.seconds * 32000:
            pcm += noise(0.3, -60.0, len(pcm)) + speech
        rtf_cold, _ = decode_rtf(recognizer, speech)  # first decode pays lazy graph loading
        rtf_free, text = decode_rtf(recognizer, pcm)
        rss_mb = (process.memory_info().rss - before) / 2**20
        rtf_grammar = float('nan')
        if grammars:
            recognizer.set_mode(sorted(grammars)[0])
            rtf_grammar, _ = decode_rtf(recognizer, pcm)
        print(f'{language:5} {"loaded":13} {load_s:7.2f} {rss_mb:7.0f} {rtf_cold:8.3f} {rtf_free:9.3f} '
              f'{rtf_grammar:9.3f}  {text[:40]}')
        del recognizer, model
    from caexpo_robot.listening.config import AsrConfig
    from caexpo_robot.listening.recognizer import AsrEngine
    engine = AsrEngine(AsrConfig(languages=()), text_lid=None)
    minute = split_chunks(noise(60.0, -60.0, 1))
    started = time.perf_counter()
    t = 0.0
    for _ in range(10):
        for chunk in minute:
            engine.process(chunk, t)
            t += 0.1
    elapsed = time.perf_counter() - started
    print(f'silence path (vad mode {engine.config.vad.mode}, no recognizer, duplex {engine.duplex}): '
          f'{600 / elapsed:,.0f}x real time, {elapsed / 6000 * 1e6:.0f} us per 100 ms chunk')


if __name__ == '__main__':
    main()
