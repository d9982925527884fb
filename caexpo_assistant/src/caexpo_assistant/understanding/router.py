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

import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from ..catalog import Catalog
from ..text import contains_term, normalize
from . import slots as slot_parser
from .embeddings import Encoder, Exemplars
from .normalize import fuzzy_contains, prepare

FAQ_TOPICS = ('hours', 'badge', 'wifi', 'transport', 'taxi', 'metro', 'food', 'lost_found', 'first_aid', 'prayer',
              'toilet', 'atm', 'charging', 'luggage', 'smoking')
SMALL_TALK = ('greeting', 'abuse', 'goodbye')
# other: what the assistant is not for (the weather, jokes, the news): answered as unknown, with the staff offer.
FUNCTIONS = ('directions', 'presence', 'matchmaking', 'meeting', 'cancel', 'events', 'staff', 'goodbye',
             'greeting', 'abuse', 'other')
ROUTES = FAQ_TOPICS + FUNCTIONS

NEAREST = 3               # an intent's similarity: the mean of its NEAREST exemplars
KEYWORD_BONUS = 0.04      # a keyword of the intent in the sentence (similarities live in about 0.75..0.95)
NAMED_BONUS = 0.03        # the sentence names what the intent needs (a place for directions, a product ...)
MEANING_FLOOR = 0.83      # below this, and no keyword: the sentence is not about anything we know
CLARIFY_MARGIN = 0.004    # best two intents closer than this, neither settled by a word: ask
TERSE_CLARIFY_MARGIN = 0.05  # the same for a sentence of one or two words
OTHER_MARGIN = 0.015      # out of scope this close to the best, with no word or name for the best: not ours
MEET_NAMED = 0.05         # a firm named and "meeting" this close to the best: the visitor wants to meet it
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
    hinted: bool = False                     # ... or only by one distinctive word of the name ("Davao")
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
        if _settled_by_words(reading):
            # One specific word of one intent and nothing named that another could want: the model would
            # agree (245 of 254 such test questions; the 9 others had a generic word like "where"), and
            # its 10-40 ms are what a fleet's turns queue behind.
            reading.intent = next(iter(keywords))
            reading.score = {reading.intent: 1.0}
            return reading
        reading.similarity = self.meaning(text)
        reading.score = {intent: sim + KEYWORD_BONUS * (intent in keywords) + NAMED_BONUS * _names_need(reading, intent)
                         for intent, sim in reading.similarity.items()}
        products = [tag for tag in reading.tags if catalog.tags[tag]['kind'] == 'product']
        if products or reading.exhibitors and not reading.hinted or reading.exhibits or reading.places:
            # A sentence that names a product, a firm or a place is not a greeting ("ai ban sau rieng"); a
            # sector may be an insult's object ("stupid robot"), so sectors alone do not count.
            for intent in SMALL_TALK:
                reading.score.pop(intent, None)
        ranked = reading.top(2)
        if not ranked:
            return reading
        (best, best_score), (second, second_score) = ranked[0], ranked[1] if len(ranked) > 1 else ('', -1.0)
        if reading.similarity[best] < MEANING_FLOOR and not keywords:
            return reading
        reading.intent = best
        if (best != 'other' and best not in keywords and not _names_need(reading, best)
                and reading.score.get('other', 0.0) >= best_score - OTHER_MARGIN):
            reading.intent = 'other'   # as much like the weather as like an expo question, and no word of it
        meeting_close = reading.score.get('meeting', 0.0) >= best_score - MEET_NAMED
        if best == 'matchmaking' and reading.exhibitors and (
                'meeting' in keywords or meeting_close and not reading.hinted):
            reading.intent = 'meeting'   # "I'd like to meet <a firm we know>" books, it does not search
        settled = best in keywords or second in keywords and best_score - second_score > KEYWORD_BONUS / 2
        # One or two words ("halal", "coffee", "Thailand") say what, not what for: ask sooner.
        margin = TERSE_CLARIFY_MARGIN if _terse(text) else CLARIFY_MARGIN
        # a product or sector named is what firms do, not a place to walk to ("chuối Davao", "green energy")
        settled = settled or {best, second} == {'matchmaking', 'directions'} and bool(reading.tags)
        if (best_score - second_score < margin and frozenset((best, second)) in CONFUSABLE
                and not settled and not (keywords & {best, second})):
            reading.clarify = (best, second)
        return reading


# Intents whose keywords are specific enough to decide alone ("toilet", "wifi", "cancel"); "where",
# "forum", "company" are not (the toilet, the forum room, the durian company).
DECISIVE = frozenset(FAQ_TOPICS) | {'cancel', 'staff', 'goodbye', 'greeting', 'abuse'}


def _settled_by_words(reading: Reading) -> bool:
    return (len(reading.keywords) == 1 and next(iter(reading.keywords)) in DECISIVE and not reading.tags
            and not reading.exhibitors and not reading.exhibits and not reading.countries)


def _terse(text: str) -> bool:
    """One or two words: at most two space-separated words in Latin script, six letters in scripts
    written without spaces (Thai, Chinese, ...)."""
    compact = ''.join(text.split())
    if any(0x0E00 <= ord(c) <= 0x0EFF or 0x1000 <= ord(c) <= 0x109F or 0x1780 <= ord(c) <= 0x17FF
           or 0x3040 <= ord(c) <= 0x9FFF for c in compact):
        return len(compact) <= 6
    return len(text.split()) <= 2 and len(compact) <= 24


def _has_keywords(catalog: Catalog, language: str, intent: str) -> bool:
    return intent in catalog.replies[language]['keywords'] or intent in catalog.replies['en']['keywords']


def _names_need(reading: Reading, intent: str) -> bool:
    """Whether the sentence names what `intent` works on (so a near-tie leans towards it); a firm hinted at
    by one word of its name does not count."""
    exhibitors = reading.exhibitors and not reading.hinted
    if intent == 'matchmaking':
        return bool(reading.tags or reading.countries and not reading.places)
    if intent in ('directions', 'presence'):
        # a country asked the way to is its pavilion ("how do I get to the Thailand pavilion"); alone, its firms
        pavilion = reading.countries and not reading.tags and 'directions' in reading.keywords
        return bool(reading.places or exhibitors or reading.exhibits or pavilion)
    if intent == 'meeting':
        return bool(exhibitors or reading.time)
    return False


def named(reading: Reading, catalog: Catalog) -> None:
    """Fill in the places, exhibitors, exhibits, products and countries the sentence names."""
    t, language = reading.normalized, reading.language
    reading.tags = catalog.find_tags(t, language)
    reading.countries = catalog.find_countries(t, language)
    reading.places = places_named(catalog, t, language)
    exhibitor = catalog.find_exhibitor_by_name(t, language) or exhibitor_nearly_named(catalog, reading.text, language)
    if exhibitor is None:
        exhibitor = exhibitor_by_distinctive_word(catalog, reading.text, language)
        reading.hinted = exhibitor is not None
    reading.exhibitors = [exhibitor] if exhibitor else []
    reading.exhibits = exhibits_named(catalog, t, language)


def places_named(catalog: Catalog, t: str, language: str) -> list[str]:
    """Every place whose name or alias occurs in `t`, longest match first (no country pavilions)."""
    found: dict[str, int] = {}
    for pid, place in catalog.places.items():
        terms = _name_parts(place['names'].get(language, '')) + _name_parts(place['names']['en'])
        terms += place['aliases'].get(language, []) + place['aliases'].get('en', [])
        for term in terms:
            if term and contains_term(t, term, language):
                found[pid] = max(found.get(pid, 0), len(term))
    return sorted(found, key=lambda pid: -found[pid])


_BRACKETS = re.compile(r'[()（）［］\[\]]')


def _name_parts(name: str) -> list[str]:
    """A place's name and, when it has a bracketed part, each part alone: "Forum Room 1 (Convention
    Center)" is also "Forum Room 1", "ASEAN Country Pavilions (Zone A)" also "Zone A"."""
    parts = [part.strip(' ,，、') for part in _BRACKETS.split(name)]
    return [name] + [part for part in parts if len(part) >= 3 and part != name]


def exhibits_named(catalog: Catalog, t: str, language: str) -> list[str]:
    found = []
    for exhibit in catalog.doc.get('exhibits', []):
        terms = list(exhibit['names'].values())
        for values in exhibit.get('aliases', {}).values():
            terms += values
        if any(term and contains_term(t, term, language) for term in terms):
            found.append(exhibit['id'])
    return found


def exhibitor_nearly_named(catalog: Catalog, text: str, language: str) -> str | None:
    """The exhibitor whose Latin name or alias the sentence spells with a typo ("huawai", "musang kng")."""
    prepared = prepare(text, language)
    best, best_score = None, 0.0
    for ex in catalog.doc['exhibitors']:
        for name in [ex['name'], *ex.get('aliases', [])]:
            score = fuzzy_contains(prepared, name)
            if score > best_score:
                best, best_score = ex['id'], score
    return best


# Words of firms' names that say nothing about which firm is meant.
_NOT_DISTINCTIVE = frozenset('company group corp corporation limited international technology technologies trading '
                             'cooperative foods food products holdings industries nanning guangxi china asean expo '
                             'golden green energy communications heritage highland intelligent plateau '
                             'solutions'.split())


@lru_cache(maxsize=8)
def _distinctive_words(catalog_key: int, catalog: Catalog) -> dict[str, str]:
    """Latin words (>= 5 letters) of exactly one exhibitor's names, that no product, sector or country uses:
    "Davao" is Davao Banana and Fruit Corp., "Kampot" the pepper cooperative."""
    vocabulary = set()
    for entry in list(catalog.tags.values()) + list(catalog.countries.values()):
        for terms in entry['terms'].values():
            for term in terms:
                vocabulary.update(normalize(term).split())
    for country in catalog.countries.values():
        for name in country['names'].values():
            vocabulary.update(normalize(name).split())
    owners: dict[str, set[str]] = {}
    for ex in catalog.doc['exhibitors']:
        for name in [ex['name'], *ex.get('aliases', [])]:
            for word in re.findall(r'[a-z]{5,}', prepare(name).folded):
                owners.setdefault(word, set()).add(ex['id'])
    return {word: next(iter(ids)) for word, ids in owners.items()
            if len(ids) == 1 and word not in vocabulary and word not in _NOT_DISTINCTIVE}


def exhibitor_by_distinctive_word(catalog: Catalog, text: str, language: str) -> str | None:
    words = _distinctive_words(id(catalog.doc), catalog)
    for word in re.findall(r'[a-z]{5,}', prepare(text, language).folded):
        if word in words:
            return words[word]
    return None
