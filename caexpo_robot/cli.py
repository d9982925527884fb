"""`caexpo-robot`: the simulated entrance and the robot's tools, from one command."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _sim(args) -> int:
    # ROS 2 traffic of a simulation never leaves this machine.
    os.environ.setdefault('ROS_AUTOMATIC_DISCOVERY_RANGE', 'LOCALHOST')
    from caexpo_robot.config_files import ConfigError
    from caexpo_robot.sim.runner import SimError, run_simulation
    from caexpo_robot.sim.scenario import load_scenario
    try:
        scenario = load_scenario(args.scenario)
        print(f'scenario {scenario.name}: {len(scenario.visitors)} visitor(s), {scenario.duration_s:.0f} s '
              f'({scenario.source})', flush=True)
        summary = run_simulation(scenario, Path(args.out), log=lambda line: print(line, flush=True))
    except (ConfigError, SimError) as exc:   # a bad scenario (ScenarioError) or config/greeter.yaml
        print(f'caexpo-robot sim: {exc}', file=sys.stderr)
        return 2
    print(f'\n{summary["greetings"]} greeting(s), {summary["utterances"]} utterance(s) '
          f'({summary["speech_s"]} s of speech); {summary["sim_duration_s"]} s simulated in {summary["wall_s"]} s '
          f'wall ({summary["speedup_vs_realtime"]}x real time)')
    for name, visitor in summary['visitors'].items():
        latency = visitor['greeting_latency_ms']
        print(f'  {name:<10} [{visitor["language"]}] greeted {visitor["greetings"]}x'
              + (f', {latency:.0f} ms after engaging' if latency is not None else '')
              + f', {len(visitor["answers"])} answer(s)' + (', farewell' if visitor['farewell'] else '')
              + (f'; listening {visitor["engaged_to_listening_s"]:.2f} s after engaging'
                 if visitor.get('engaged_to_listening_s') is not None else '')
              + f'; {visitor.get("speech_s", 0):.1f} s of speech to them'
              + (f', longest answer {visitor["longest_answer_s"]:.1f} s' if visitor.get('longest_answer_s') else ''))
    pacing = summary.get('engaged_to_listening_s')
    if pacing:
        print(f'pacing: engaged -> listening at most {pacing["max"]:.2f} s (mean {pacing["mean"]:.2f} s); '
              f'longest spoken answer {summary.get("longest_answer_s") or 0:.1f} s')
    print(f'output: {args.out}/events.jsonl, {args.out}/summary.json, {args.out}/speech/')
    return 0


def _detect(args) -> int:
    from caexpo_robot.perception.detect_cli import detect_main
    return detect_main(args.images, model=args.model, min_score=args.min_score)


def _langid(args) -> int:
    from caexpo_robot.language.langid import langid_main
    return langid_main(args.texts)


def _languages(args) -> int:
    from caexpo_robot.capabilities import format_table, language_rows
    from caexpo_robot.config_files import ConfigError
    from caexpo_robot.listening.config import load_asr_config
    from caexpo_robot.listening.hearing import configured_whisper_status, hearing
    from caexpo_robot.listening.models import model_status
    try:
        config = load_asr_config(args.config)
    except (ConfigError, OSError) as exc:
        print(f'caexpo-robot languages: {exc}', file=sys.stderr)
        return 2
    whisper = configured_whisper_status(config)
    vosk = {}

    def vosk_status(code: str):   # each language's Vosk model looked up once for both columns
        if code not in vosk:
            vosk[code] = model_status(code, config.models)
        return vosk[code]

    def asr_status(code: str) -> str:
        status = vosk_status(code)
        return {'installed': f'installed at {status.path}', 'not_installed': 'not installed',
                'none_exists': 'none exists', 'corrupt': f'corrupt ({status.detail})'}.get(status.state, status.state)

    def heard(code: str):
        return hearing(config, code, vosk=vosk_status(code) if config.engine(code) == 'vosk' else None,
                       whisper=whisper)

    rows = language_rows(asr_status, hearing=heard)
    print(json.dumps(rows, ensure_ascii=False, indent=2) if args.json else format_table(rows))
    return 0


def _models(args) -> int:
    from caexpo_robot.listening.models import models_main
    return models_main(args.rest)


def _listen(args) -> int:
    from caexpo_robot.listening.listen_cli import listen_main
    return listen_main(args.rest)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='caexpo-robot', description=__doc__)
    sub = parser.add_subparsers(dest='command', required=True)
    sim = sub.add_parser('sim', help='run the simulated entrance (the robot\'s nodes on a scenario)')
    sim.add_argument('scenario', nargs='?', help='scenario YAML (default: the packaged entrance_default)')
    sim.add_argument('--out', default='build/demo', help='output folder (events.jsonl, summary.json, speech/)')
    sim.set_defaults(run=_sim)
    detect = sub.add_parser('detect', help='detect faces in images, one JSON line per image')
    detect.add_argument('images', nargs='+')
    detect.add_argument('--model', default='full', choices=('full', 'short'))
    detect.add_argument('--min-score', type=float, default=0.5, help='ignore detections below this confidence')
    detect.set_defaults(run=_detect)
    langid = sub.add_parser('langid', help='identify the language of texts: <code>\\t<confidence>\\t<text>')
    langid.add_argument('texts', nargs='+')
    langid.set_defaults(run=_langid)
    languages = sub.add_parser('languages', help='what the robot can do in each of its languages')
    languages.add_argument('--json', action='store_true')
    languages.add_argument('--config', help='asr.yaml to read (default: the package\'s config/asr.yaml)')
    languages.set_defaults(run=_languages)
    models = sub.add_parser('models', help='speech models: list | download LANG... | assemble [whisper-base] | verify')
    models.add_argument('rest', nargs=argparse.REMAINDER)
    models.set_defaults(run=_models)
    listen = sub.add_parser('listen', help='what the robot hears in a WAV file, through the asr engine: '
                                           'one JSON line (FILE [--language L] [--config FILE])')
    listen.add_argument('rest', nargs=argparse.REMAINDER)
    listen.set_defaults(run=_listen)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == '__main__':
    raise SystemExit(main())
