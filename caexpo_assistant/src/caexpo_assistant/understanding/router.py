"""What a visitor's sentence asks for: meaning (nearest exemplars) checked against what it names.

Two kinds of evidence, combined and never trusted alone:

- meaning: the sentence's e5 vector against some 4,000 exemplars (at least 15 per intent and language);
  an intent's similarity is the mean of its three nearest exemplars, in any language;
- words: the reply files' keywords per intent, and what the sentence names in the catalog (places,
  exhibitors, exhibits, products, countries) after normalisation (folded accents, simplified Chinese,
  spaces ignored in unspaced scripts, segmentation where a short word hides in a longer one).

A keyword adds KEYWORD_BONUS to its intent. When the best two intents are within CLARIFY_MARGIN and
both are plausible (no keyword and no named thing settles it), the assistant asks one short question
instead of guessing; below MEANING_FLOOR with no keyword, it does not know. The router only reads: what
to do with a reading (and with the conversation's state) is turns.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..catalog import Catalog
from ..text import contains_term, normalize
from . import slots as slot_parser
from .embeddings import Encoder, Exemplars

FAQ_TOPICS = ('hours', 'badge', 'wifi', 'transport', 'taxi', 'metro', 'food', 'lost_found', 'first_aid', 'prayer',
              'toilet', 'atm', 'charging', 'luggage', 'smoking')
FUNCTIONS = ('directions', 'presence', 'matchmaking', 'meeting', 'cancel', 'events', 'staff', 'goodbye',
             'greeting', 'abuse')
ROUTES = FAQ_TOPICS + FUNCTIONS

NEAREST = 3               # an intent's similarity: the mean of its NEAREST exemplars
KEYWORD_BONUS = 0.04      # a keyword of the intent in the sentence (similarities live in about 0.75..0.95)
NAMED_BONUS = 0.03        # the sentence names what the intent needs (a place for directions, a product ...)
MEANING_FLOOR = 0.83      # below this, and no keyword: the sentence is not about anything we know
CLARIFY_MARGIN = 0.004    # best two intents closer than this, neither settled by a word: ask
# Pairs that are easy to confuse and worth a question; other near-ties go to the better score.
CONFUSABLE = frozenset(frozenset(p) for p in (
    ('food', 'matchmaking'), ('wifi', 'matchmaking'), ('directions', 'matchmaking'), ('transport', 'taxi'),
    ('transport', 'metro'), ('lost_found', 'staff'), ('meeting', 'matchmaking'), ('events', 'hours')))


@dataclass
class Reading:
    """One sentence, read: the best intent and everything the sentence names."""
    text: str
    language: str
    normalized: str
    intent: str | None                       # a ROUTES entry, or None (nothing we know)
    similarity: dict[str, float]             # meaning only, per intent
    score: dict[str, float]                  # meaning + words
    keywords: frozenset[str]                 # intents whose keywords occur
    clarify: tuple[str, str] | None = None   # two intents to ask between
    places: list[str] = field(default_factory=list)       # place ids named, longest name first
    exhibitors: list[str] = field(default_factory=list)   # exhibitor ids named (exactly or nearly)
    exhibits: list[str] = field(default_factory=list)     # exhibit ids named
    tags: list[str] = field(default_factory=list)
    countries: list[str] = field(default_factory=list)
    day: str | None = None
    time: str | None = None
    ordinal: int | None = None
    yes: bool | None = None

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        return sorted(self.score.items(), key=lambda kv: -kv[1])[:count]


class Router:
    def __init__(self, exemplars: Exemplars, encoder: Encoder):
        self.exemplars, self.encoder = exemplars, encoder
        self._intent_rows = {intent: np.flatnonzero(np.array(exemplars.intents) == intent) for intent in ROUTES}

    def meaning(self, text: str) -> dict[str, float]:
        """Per intent, the mean similarity of the sentence to its NEAREST closest exemplars."""
        vector = self.encoder.query(text)
        sims = self.exemplars.vectors @ vector
        out = {}
        for intent, rows in self._intent_rows.items():
            if len(rows) == 0:
                continue
            nearest = np.partition(sims[rows], -min(NEAREST, len(rows)))[-min(NEAREST, len(rows)):]
            out[intent] = float(nearest.mean())
        return out

    def read(self, text: str, language: str, catalog: Catalog, today: str) -> Reading:
        t = normalize(text)
        keywords = frozenset(intent for intent in ROUTES if _has_keywords(catalog, language, intent)
                             and catalog.mentions(t, language, intent))
        reading = Reading(text, language, t, None, {}, {}, keywords)
        named(reading, catalog)
        reading.day = slot_parser.find_day(text, language, today, catalog.doc['expo']['days'])
        reading.time = slot_parser.find_time(text, language)
        reading.ordinal = slot_parser.find_ordinal(text, language)
        reading.yes = slot_parser.yes_no(text, language)
        reading.similarity = self.meaning(text)
        reading.score = {intent: sim + KEYWORD_BONUS * (intent in keywords) + NAMED_BONUS * _names_need(reading, intent)
                         for intent, sim in reading.similarity.items()}
        ranked = reading.top(2)
        if not ranked:
            return reading
        (best, best_score), (second, second_score) = ranked[0], ranked[1] if len(ranked) > 1 else ('', -1.0)
        if reading.similarity[best] < MEANING_FLOOR and not keywords:
            return reading
        reading.intent = best
        settled = best in keywords or second in keywords and best_score - second_score > KEYWORD_BONUS / 2
        if (best_score - second_score < CLARIFY_MARGIN and frozenset((best, second)) in CONFUSABLE
                and not settled and not (keywords & {best, second})):
            reading.clarify = (best, second)
        return reading


def _has_keywords(catalog: Catalog, language: str, intent: str) -> bool:
    return intent in catalog.replies[language]['keywords'] or intent in catalog.replies['en']['keywords']


def _names_need(reading: Reading, intent: str) -> bool:
    """Whether the sentence names what `intent` works on (so a near-tie leans towards it)."""
    if intent == 'matchmaking':
        return bool(reading.tags or reading.countries and not reading.places)
    if intent in ('directions', 'presence'):
        return bool(reading.places or reading.exhibitors or reading.exhibits)
    if intent == 'meeting':
        return bool(reading.exhibitors and reading.time)
    return False


def named(reading: Reading, catalog: Catalog) -> None:
    """Fill in the places, exhibitors, exhibits, products and countries the sentence names."""
    t, language = reading.normalized, reading.language
    reading.tags = catalog.find_tags(t, language)
    reading.countries = catalog.find_countries(t, language)
    reading.places = places_named(catalog, t, language)
    exhibitor = catalog.find_exhibitor_by_name(t, language)
    reading.exhibitors = [exhibitor] if exhibitor else []
    reading.exhibits = exhibits_named(catalog, t, language)


def places_named(catalog: Catalog, t: str, language: str) -> list[str]:
    """Every place whose name or alias occurs in `t`, longest match first (no country pavilions)."""
    found: dict[str, int] = {}
    for pid, place in catalog.places.items():
        terms = [place['names'].get(language, ''), place['names']['en']]
        terms += place['aliases'].get(language, []) + place['aliases'].get('en', [])
        for term in terms:
            if term and contains_term(t, term, language):
                found[pid] = max(found.get(pid, 0), len(term))
    return sorted(found, key=lambda pid: -found[pid])


def exhibits_named(catalog: Catalog, t: str, language: str) -> list[str]:
    found = []
    for exhibit in catalog.doc.get('exhibits', []):
        terms = list(exhibit['names'].values())
        for values in exhibit.get('aliases', {}).values():
            terms += values
        if any(term and contains_term(t, term, language) for term in terms):
            found.append(exhibit['id'])
    return found
