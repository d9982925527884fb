"""The expo's knowledge: seed loading and validation, exhibitor search, directions, reply templates.

A catalog is plain JSON-able data (what `load-seed` stores in the database); `Catalog` wraps it
with the indexes the router needs. Reply templates are server configuration (config/assistant/replies/),
not seed data, so organisers replace venue and exhibitors without touching wording.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .languages import LANGUAGES, contains_term, normalize

INTENT_KEYWORDS = ('staff', 'cancel', 'meeting', 'events', 'hours', 'badge', 'wifi', 'transport', 'food',
                   'lost_found', 'first_aid', 'prayer', 'directions', 'matchmaking', 'goodbye')
REPLY_KEYS = ('hours', 'badge', 'wifi', 'transport', 'food', 'lost_found', 'first_aid', 'prayer', 'directions',
              'directions_unknown', 'exhibitors', 'exhibitors_none', 'slots', 'slots_none', 'need_exhibitor',
              'booked', 'taken', 'cancelled', 'no_meeting', 'events', 'events_none', 'staff', 'unknown',
              'goodbye')
WORD_KEYS = ('ahead', 'ahead_right', 'right', 'behind_right', 'behind', 'behind_left', 'left', 'ahead_left',
             'here', 'route', 'floor', 'list_sep', 'exhibitor_item', 'event_item', 'date')
_HHMM = re.compile(r'^([01]\d|2[0-3]):[0-5]\d$')
_ID = re.compile(r'^[a-z0-9][a-z0-9_-]{0,63}$')


class SeedError(ValueError):
    """The seed folder or reply templates are malformed; the message names the file and the item."""


def _load_yaml(path: Path) -> Any:
    try:
        with open(path, encoding='utf-8') as handle:
            return yaml.safe_load(handle)
    except FileNotFoundError as exc:
        raise SeedError(f'missing file {path}') from exc
    except yaml.YAMLError as exc:
        raise SeedError(f'{path}: not valid YAML: {exc}') from exc


def _need(mapping: Any, key: str, where: str, kind: type | tuple = object) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        raise SeedError(f'{where}: missing "{key}"')
    value = mapping[key]
    if not isinstance(value, kind):
        raise SeedError(f'{where}: "{key}" has the wrong type ({type(value).__name__})')
    return value


def _names(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or 'en' not in value:
        raise SeedError(f'{where}: names need at least an "en" entry')
    bad = set(value) - set(LANGUAGES)
    if bad:
        raise SeedError(f'{where}: unknown language codes {sorted(bad)}')
    return {k: str(v) for k, v in value.items()}


def _terms(value: Any, where: str) -> dict[str, list[str]]:
    if not isinstance(value, dict):
        raise SeedError(f'{where}: terms must map language codes to lists of words')
    bad = set(value) - set(LANGUAGES)
    if bad:
        raise SeedError(f'{where}: unknown language codes {sorted(bad)}')
    return {k: [str(t) for t in (v if isinstance(v, list) else [v])] for k, v in value.items()}


def _time(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise SeedError(f'{where}: time must be "HH:MM" in quotes, got {value!r}')
    return value


def load_seed_folder(folder: str | Path) -> dict:
    """Read and validate a seed folder; returns the catalog document that load-seed stores."""
    folder = Path(folder)
    venue = _load_yaml(folder / 'venue.yaml')
    vocabulary = _load_yaml(folder / 'vocabulary.yaml')
    exhibitors = _need(_load_yaml(folder / 'exhibitors.yaml'), 'exhibitors', 'exhibitors.yaml', list)
    events = _need(_load_yaml(folder / 'events.yaml'), 'events', 'events.yaml', list)

    expo = _need(venue, 'expo', 'venue.yaml', dict)
    days = _need(expo, 'days', 'venue.yaml expo', list)
    try:
        days = [dt.date.fromisoformat(str(d)).isoformat() for d in days]
    except ValueError as exc:
        raise SeedError(f'venue.yaml expo.days: {exc}') from exc
    catalog: dict[str, Any] = {
        'expo': {'names': _names(_need(expo, 'names', 'venue.yaml expo'), 'venue.yaml expo.names'),
                 'venue': _names(_need(expo, 'venue', 'venue.yaml expo'), 'venue.yaml expo.venue'),
                 'days': days, 'utc_offset_hours': float(expo.get('utc_offset_hours', 8))},
        'facts': {}, 'entrances': {}, 'places': {}, 'countries': {}, 'tags': {}, 'exhibitors': [], 'events': []}
    facts = _need(venue, 'facts', 'venue.yaml', dict)
    for key in ('open', 'close'):
        catalog['facts'][key] = _time(_need(facts, key, 'venue.yaml facts'), f'venue.yaml facts.{key}')
    for key, value in facts.items():
        catalog['facts'].setdefault(key, value if isinstance(value, (str, int, float)) else str(value))

    for pid, place in _need(venue, 'places', 'venue.yaml', dict).items():
        where = f'venue.yaml places.{pid}'
        if not _ID.match(str(pid)):
            raise SeedError(f'{where}: ids are lower-case letters, digits, _ and -')
        catalog['places'][pid] = {
            'names': _names(_need(place, 'names', where), where),
            'aliases': _terms(place.get('aliases', {}), where + '.aliases'),
            'x': float(_need(place, 'x', where, (int, float))), 'y': float(_need(place, 'y', where, (int, float))),
            'floor': int(place.get('floor', 1)), 'hall': str(place.get('hall', ''))}
    for eid, entrance in _need(venue, 'entrances', 'venue.yaml', dict).items():
        where = f'venue.yaml entrances.{eid}'
        if not _ID.match(str(eid)):
            raise SeedError(f'{where}: ids are lower-case letters, digits, _ and -')
        catalog['entrances'][eid] = {
            'names': _names(_need(entrance, 'names', where), where),
            'x': float(_need(entrance, 'x', where, (int, float))), 'y': float(_need(entrance, 'y', where, (int, float))),
            'facing_deg': float(_need(entrance, 'facing_deg', where, (int, float))),
            'floor': int(entrance.get('floor', 1))}
    for key in ('food', 'lost_found', 'first_aid', 'prayer', 'badge', 'transport'):
        place = _need(facts, f'{key}_place', 'venue.yaml facts')
        if place not in catalog['places']:
            raise SeedError(f'venue.yaml facts.{key}_place: unknown place {place!r}')

    for code, country in _need(vocabulary, 'countries', 'vocabulary.yaml', dict).items():
        where = f'vocabulary.yaml countries.{code}'
        pavilion = country.get('pavilion')
        if pavilion is not None and pavilion not in catalog['places']:
            raise SeedError(f'{where}: unknown pavilion place {pavilion!r}')
        catalog['countries'][str(code)] = {'names': _names(_need(country, 'names', where), where),
                                           'terms': _terms(country.get('terms', {}), where + '.terms'),
                                           'pavilion': pavilion}
    for tag, entry in _need(vocabulary, 'tags', 'vocabulary.yaml', dict).items():
        where = f'vocabulary.yaml tags.{tag}'
        kind = _need(entry, 'kind', where, str)
        if kind not in ('product', 'sector'):
            raise SeedError(f'{where}: kind must be product or sector')
        catalog['tags'][str(tag)] = {'kind': kind, 'terms': _terms(_need(entry, 'terms', where), where)}

    seen = set()
    for index, ex in enumerate(exhibitors):
        where = f'exhibitors.yaml item {index + 1}'
        eid = str(_need(ex, 'id', where))
        if not _ID.match(eid) or eid in seen:
            raise SeedError(f'{where}: id {eid!r} is malformed or repeated')
        seen.add(eid)
        where = f'exhibitors.yaml {eid}'
        if _need(ex, 'country', where) not in catalog['countries']:
            raise SeedError(f'{where}: unknown country {ex["country"]!r}')
        if _need(ex, 'hall', where) not in catalog['places']:
            raise SeedError(f'{where}: unknown hall place {ex["hall"]!r}')
        tags = list(ex.get('products', [])) + list(ex.get('sectors', []))
        unknown = [t for t in tags if t not in catalog['tags']]
        if unknown:
            raise SeedError(f'{where}: unknown tags {unknown} (add them to vocabulary.yaml)')
        hours = _need(ex, 'meeting_hours', where, list)
        windows = []
        for window in hours:
            if not isinstance(window, list) or len(window) != 2:
                raise SeedError(f'{where}: meeting_hours items are ["HH:MM", "HH:MM"] pairs')
            start, end = (_time(t, where + ' meeting_hours') for t in window)
            if end <= start:
                raise SeedError(f'{where}: meeting window {start}-{end} ends before it starts')
            windows.append([start, end])
        catalog['exhibitors'].append({
            'id': eid, 'name': str(_need(ex, 'name', where)), 'names': _names({'en': ex['name'], **(ex.get('names') or {})}, where),
            'aliases': [str(a) for a in ex.get('aliases', [])],
            'country': ex['country'], 'hall': ex['hall'], 'booth': str(_need(ex, 'booth', where)),
            'products': list(ex.get('products', [])), 'sectors': list(ex.get('sectors', [])),
            'description': str(ex.get('description', '')), 'meeting_hours': windows,
            'slot_minutes': int(ex.get('slot_minutes', 30))})

    for index, event in enumerate(events):
        where = f'events.yaml item {index + 1}'
        eid = str(_need(event, 'id', where))
        day = str(_need(event, 'day', where))
        if day not in days:
            raise SeedError(f'{where}: day {day} is not one of the expo days')
        if _need(event, 'place', where) not in catalog['places']:
            raise SeedError(f'{where}: unknown place {event["place"]!r}')
        catalog['events'].append({
            'id': eid, 'day': day, 'start': _time(_need(event, 'start', where), where),
            'end': _time(_need(event, 'end', where), where), 'place': event['place'],
            'kind': str(event.get('kind', 'forum')), 'titles': _names(_need(event, 'titles', where), where)})
    catalog['events'].sort(key=lambda e: (e['day'], e['start']))
    return catalog


def load_replies(folder: str | Path) -> dict[str, dict]:
    """All 11 languages' keyword lists and reply templates; any missing piece is a SeedError at start-up."""
    folder = Path(folder)
    replies = {}
    for language in LANGUAGES:
        path = folder / f'{language}.yaml'
        data = _load_yaml(path)
        if not isinstance(data, dict) or data.get('language') != language:
            raise SeedError(f'{path}: "language: {language}" missing or wrong')
        keywords = _need(data, 'keywords', str(path), dict)
        words = _need(data, 'words', str(path), dict)
        templates = _need(data, 'replies', str(path), dict)
        for group, keys in (('keywords', INTENT_KEYWORDS), ('words', WORD_KEYS), ('replies', REPLY_KEYS)):
            missing = [k for k in keys if k not in data[group]]
            if missing:
                raise SeedError(f'{path}: {group} lacks {missing}')
        replies[language] = {'keywords': {k: [normalize(t) for t in v] for k, v in keywords.items()},
                             'words': {k: str(v) for k, v in words.items()},
                             'replies': {k: str(v) for k, v in templates.items()}}
    return replies


@dataclass(frozen=True)
class Direction:
    place_id: str
    distance_m: int
    bearing: str          # one of ahead, ahead_right, right, ... (relative to the entrance's facing)
    floor: int
    text: str             # the localised phrase, e.g. "about 120 m ahead on your right, floor 2"


class Catalog:
    """Read-only indexes over one catalog document plus the reply templates."""

    def __init__(self, document: dict, replies: dict[str, dict], version: int = 0):
        self.doc = document
        self.version = version
        self.replies = replies
        self.exhibitors = {e['id']: e for e in document['exhibitors']}
        self.places = document['places']
        self.entrances = document['entrances']
        self.countries = document['countries']
        self.tags = document['tags']
        self.facts = document['facts']

    # -- language helpers -------------------------------------------------------------------------
    def word(self, language: str, key: str) -> str:
        return self.replies[language]['words'][key]

    def template(self, language: str, key: str) -> str:
        return self.replies[language]['replies'][key]

    @staticmethod
    def localized(names: dict[str, str], language: str) -> str:
        return names.get(language) or names['en']

    def keywords(self, language: str, intent: str) -> list[str]:
        own = self.replies[language]['keywords'].get(intent, [])
        return own if language == 'en' else own + self.replies['en']['keywords'].get(intent, [])

    def mentions(self, text: str, language: str, intent: str) -> bool:
        return any(contains_term(text, term, language) for term in self.keywords(language, intent))

    def _matches(self, text: str, language: str, terms: dict[str, list[str]] | list[str]) -> bool:
        pool = terms if isinstance(terms, list) else terms.get(language, []) + terms.get('en', [])
        return any(contains_term(text, term, language) for term in pool)

    def format_date(self, language: str, iso_day: str) -> str:
        day = dt.date.fromisoformat(iso_day)
        return self.word(language, 'date').format(day=day.day, month=day.month, year=day.year)

    # -- time -------------------------------------------------------------------------------------
    def expo_today(self, override: str | None = None) -> str:
        """Today at the venue; outside the expo dates (demos, tests) the first expo day."""
        if override:
            return override
        offset = dt.timedelta(hours=self.doc['expo']['utc_offset_hours'])
        today = (dt.datetime.now(dt.timezone.utc) + offset).date().isoformat()
        return today if today in self.doc['expo']['days'] else self.doc['expo']['days'][0]

    # -- places and directions --------------------------------------------------------------------
    def find_place(self, text: str, language: str, countries: bool = True) -> str | None:
        """The place named in normalized text (longest name wins), else a named country's pavilion."""
        best, best_len = None, 0
        for pid, place in self.places.items():
            candidates = [place['names'].get(language, ''), place['names']['en']]
            candidates += place['aliases'].get(language, []) + place['aliases'].get('en', [])
            for term in candidates:
                if term and len(term) > best_len and contains_term(text, term, language):
                    best, best_len = pid, len(term)
        if best is None and countries:
            for code in self.find_countries(text, language):
                if self.countries[code]['pavilion']:
                    return self.countries[code]['pavilion']
        return best

    def direction(self, entrance_id: str, place_id: str, language: str) -> Direction:
        entrance, place = self.entrances[entrance_id], self.places[place_id]
        dx, dy = place['x'] - entrance['x'], place['y'] - entrance['y']
        distance = math.hypot(dx, dy)
        compass = math.degrees(math.atan2(dx, dy)) % 360          # 0 = north (+y), 90 = east (+x)
        relative = (compass - entrance['facing_deg']) % 360
        sectors = ('ahead', 'ahead_right', 'right', 'behind_right', 'behind', 'behind_left', 'left', 'ahead_left')
        bearing = sectors[int(((relative + 22.5) % 360) // 45)]
        rounded = int(max(10, round(distance / 10) * 10))
        if distance < 15:
            text = self.word(language, 'here')
        else:
            text = self.word(language, 'route').format(distance=rounded, way=self.word(language, bearing))
        if place['floor'] != entrance['floor']:
            text += self.word(language, 'floor').format(floor=place['floor'])
        return Direction(place_id, rounded, bearing, place['floor'], text)

    def place_name(self, place_id: str, language: str) -> str:
        return self.localized(self.places[place_id]['names'], language)

    # -- matchmaking ------------------------------------------------------------------------------
    def find_countries(self, text: str, language: str) -> list[str]:
        found = []
        for code, country in self.countries.items():
            terms = country['terms'].get(language, []) + country['terms'].get('en', [])
            terms += [country['names'].get(language, ''), country['names']['en']]
            if self._matches(text, language, [t for t in terms if t]):
                found.append(code)
        return found

    def find_tags(self, text: str, language: str) -> list[str]:
        return [tag for tag, entry in self.tags.items() if self._matches(text, language, entry['terms'])]

    def find_exhibitor_by_name(self, text: str, language: str) -> str | None:
        for ex in self.doc['exhibitors']:
            terms = [ex['name']] + list(ex['names'].values()) + ex['aliases']
            if any(contains_term(text, t, language) for t in terms):
                return ex['id']
        return None

    def search_exhibitors(self, text: str, language: str, limit: int = 10) -> list[tuple[dict, int]]:
        """Exhibitors ranked by how much of the question they match: name > product > sector/country."""
        text = normalize(text)
        tags = set(self.find_tags(text, language))
        countries = set(self.find_countries(text, language))
        named = self.find_exhibitor_by_name(text, language)
        ranked = []
        for ex in self.doc['exhibitors']:
            matched_tags = tags.intersection(ex['products'] + ex['sectors'])
            if ex['id'] != named and (tags and not matched_tags or countries and ex['country'] not in countries):
                continue  # "durian from Malaysia": both what and where must fit, unless the company was named
            score = 8 * (ex['id'] == named)
            score += 3 * len(tags.intersection(ex['products'])) + 2 * len(tags.intersection(ex['sectors']))
            score += 2 * (ex['country'] in countries)
            if score:
                ranked.append((ex, score))
        ranked.sort(key=lambda item: (-item[1], item[0]['name']))
        return ranked[:limit]

    def exhibitor_item(self, ex: dict, language: str) -> str:
        return self.word(language, 'exhibitor_item').format(
            name=self.localized(ex['names'], language), booth=ex['booth'], hall=self.place_name(ex['hall'], language),
            country=self.localized(self.countries[ex['country']]['names'], language))

    def exhibitor_public(self, ex: dict, language: str = 'en') -> dict:
        return {'id': ex['id'], 'name': ex['name'], 'local_name': self.localized(ex['names'], language),
                'country': ex['country'], 'hall': ex['hall'], 'hall_name': self.place_name(ex['hall'], language),
                'booth': ex['booth'], 'products': ex['products'], 'sectors': ex['sectors'],
                'description': ex['description']}

    # -- events -----------------------------------------------------------------------------------
    def events_on(self, day: str) -> list[dict]:
        return [e for e in self.doc['events'] if e['day'] == day]

    def event_item(self, event: dict, language: str) -> str:
        return self.word(language, 'event_item').format(
            start=event['start'], end=event['end'], title=self.localized(event['titles'], language),
            place=self.place_name(event['place'], language))

    # -- meeting slots ----------------------------------------------------------------------------
    @staticmethod
    def slot_starts(ex: dict) -> list[tuple[str, str]]:
        slots = []
        step = dt.timedelta(minutes=ex['slot_minutes'])
        for start, end in ex['meeting_hours']:
            t = dt.datetime.strptime(start, '%H:%M')
            stop = dt.datetime.strptime(end, '%H:%M')
            while t + step <= stop:
                slots.append((t.strftime('%H:%M'), (t + step).strftime('%H:%M')))
                t += step
        return slots
