"""Which language a visitor is answered in, when what they said and what they typed disagree. Pure.

One recognizer alone cannot prove a language: a lone model hears every sound as its own language (the
English recording heard as Korean, 0.70, by the only loaded Korean model). And a language the visitor
typed or tapped on the screen is their choice. So:
- typed or tapped text sets the language at once (typed text is exact);
- a recognition in the visitor's current language is taken as it is;
- a recognition in another language, when only one speech model is loaded or only one recognizer
  produced it, counts only if text language ID agrees with it; then
- it is taken at once if nothing is known of the visitor's language yet, or if several recognizers
  heard it and the visitor's language was only heard too; but switching away from a typed language,
  or on a lone recognizer's word, needs a second recognition in a row in that same language.
A recognition that is not taken is not answered in its language: the visitor hears "sorry, I did not
catch that" in the language they have.
"""
from __future__ import annotations

from dataclasses import dataclass

from caexpo_robot.language.langid import identify

SIMILAR = ({'ms', 'id'},)    # text-ID cannot always tell these apart: agreement within the pair counts


@dataclass
class LanguageState:
    """What is known of one visitor's language."""
    language: str | None = None
    source: str | None = None         # 'kiosk' (typed or tapped) or 'speech'
    pending: str | None = None        # a recognized language not proven yet
    pending_count: int = 0


def text_id_agrees(text: str, language: str, prefer: str) -> bool:
    guess = identify(text, prefer=prefer).code
    return guess == language or any({guess, language} <= pair for pair in SIMILAR)


def accept(state: LanguageState, text: str, language: str, source: str, lone: bool, prefer: str) -> str:
    """'' if `language` is taken (state updated), else why not (the visitor is not answered in it)."""
    if source != 'speech' or language == state.language:
        state.language, state.pending, state.pending_count = language, None, 0
        state.source = source if source != 'speech' or state.source is None else state.source
        return ''
    if lone and not text_id_agrees(text, language, prefer):
        state.pending, state.pending_count = None, 0
        return f'{language} heard by one recognizer only and text language ID disagrees'
    state.pending_count = state.pending_count + 1 if state.pending == language else 1
    state.pending = language
    outranked = lone or state.source == 'kiosk'   # several recognizers may switch a heard language at once
    if state.language is not None and outranked and state.pending_count < 2:
        return f'{language} heard once; {state.language} ({state.source}) is kept until it is heard again'
    state.language, state.source, state.pending, state.pending_count = language, 'speech', None, 0
    return ''
