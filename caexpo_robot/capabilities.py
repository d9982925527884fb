"""The language table: per language what the robot can do (phrasebook, voice, which engine hears it and
whether its transcripts are trusted, Vosk model, language ID).

It sits above the layers it reports on: language/ (codes, phrasebook, text LID), speaking/ (voices)
and, through the caller's `hearing` and `asr_status`, listening/ (engines, speech models); none of those
imports it. `caexpo-robot languages` prints it; the interaction node shows it on /diagnostics.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Iterable

from caexpo_robot.language.langid import LATIN_LANGUAGES
from caexpo_robot.language.languages import LANGUAGE_INFO, LANGUAGES
from caexpo_robot.language.phrasebook import Phrasebook
from caexpo_robot.speaking.voices import VoiceTable

if TYPE_CHECKING:
    from caexpo_robot.listening.hearing import Hearing

COLUMNS = [('code', 'Code'), ('english_name', 'Language'), ('native_name', 'Native name'),
           ('phrasebook', 'Phrasebook'), ('tts', 'TTS voice'), ('heard_by', 'Heard by'), ('trusted', 'Trusted'),
           ('asr', 'Vosk model'), ('lid', 'Text LID')]


def language_rows(asr_status: Callable[[str], str] | None = None, phrasebook=None, voices=None,
                  hearing: Callable[[str], Hearing] | None = None) -> list[dict]:
    """One dict per language, in LANGUAGES order, with the keys of COLUMNS plus 'engine'.

    asr_status(code) says what Vosk model exists ("installed at PATH", "not installed", "none exists");
    hearing(code) (listening/hearing.py) which engine hears the language and whether its transcripts are
    trusted: 'heard_by' ("Vosk (...)", "Whisper base", "not heard: ..."), 'trusted' ("yes", "no: offers
    the screen (trust 1.0)", "below 0.6 offers the screen") and 'engine' ('vosk', 'whisper', None).
    None leaves those columns "not checked" (engine None).
    """
    phrasebook = phrasebook or Phrasebook.load()
    voices = voices or VoiceTable.load(phrasebook=phrasebook)
    rows = []
    for code in LANGUAGES:
        info = LANGUAGE_INFO[code]
        kind, entry = voices.voice_kind(code), voices.entry(code)
        if kind == 'native':
            tts = f'native ({entry.voice})'
        elif kind == 'screen_only':
            tts = f'screen only (says read_screen in {entry.fallback_language})'
        else:
            tts = f'fallback: {entry.voice} voice'
        asr = _probe(asr_status, code, str)
        heard = _probe(hearing, code, lambda h: (h.heard_by(), h.trust_text(), h.engine))
        heard_by, trusted, engine = heard if isinstance(heard, tuple) else (heard, heard, None)
        rows.append({
            'code': code, 'english_name': info.english_name, 'native_name': info.native_name,
            'phrasebook': 'complete' if phrasebook.complete(code) else
            f'{sum(1 for c, _ in phrasebook.missing() if c == code)} missing (English used)',
            'tts': tts, 'heard_by': heard_by, 'trusted': trusted, 'engine': engine, 'asr': asr,
            'lid': 'yes (statistical)' if code in LATIN_LANGUAGES else f'yes (by {info.script} script)',
        })
    return rows


def _probe(probe: Callable | None, code: str, present: Callable):
    """present(probe(code)); 'not checked' without a probe, 'error: ...' when it fails (a broken probe
    must not hide the rest of the table)."""
    if probe is None:
        return 'not checked'
    try:
        return present(probe(code))
    except Exception as exc:
        return f'error: {exc}'


def format_table(rows: list[dict]) -> str:
    """A Markdown table (readable as plain text too)."""
    header = [title for _, title in COLUMNS]
    body = [[str(row.get(key, '')) for key, _ in COLUMNS] for row in rows]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '|'.join('---' for _ in header) + '|']
    lines += ['| ' + ' | '.join(cell.replace('|', '/') for cell in cells) + ' |' for cells in body]
    return '\n'.join(lines)


def diagnostic_values(rows: list[dict], hearable: Iterable[str]) -> dict[str, str]:
    """{language_<code>: what the robot can do in it}, for /diagnostics; `hearable` comes from the asr node."""
    hearable = set(hearable)
    return {f'language_{row["code"]}': f'phrasebook {row["phrasebook"]}; voice {row["tts"]}; '
            f'speech {"heard" if row["code"] in hearable else "typed on the screen"}' for row in rows}
