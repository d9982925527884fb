"""The expo's knowledge: seed loading and validation, exhibitor search, directions, reply templates.

A catalog is plain JSON-able data (what `load-seed` stores in the database); `Catalog` wraps it
with the indexes the router needs. Reply templates are server configuration (data/replies/),
not seed data, so organisers replace venue and exhibitors without touching wording.

Every seed and reply file is read through caexpo_robot.config_files with the models below: an unknown
(misspelt) key or a value of the wrong kind is refused naming the file and the field. What a model
cannot see alone (an exhibitor's hall must be a venue place, ...) is checked after, naming file and item.
"""
from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Optional, TypeVar

from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, model_validator

from caexpo_robot.config_files import ConfigError, ConfigModel, load_config
from caexpo_robot.language.languages import LANGUAGES

from .text import contains_term, normalize

INTENT_KEYWORDS = ('staff', 'cancel', 'meeting', 'events', 'hours', 'badge', 'wifi', 'transport', 'taxi', 'metro',
                   'food', 'lost_found', 'first_aid', 'prayer', 'toilet', 'atm', 'charging', 'luggage', 'smoking',
                   'directions', 'matchmaking', 'goodbye', 'greeting', 'abuse')
REPLY_KEYS = ('hours', 'badge', 'wifi', 'transport', 'food', 'lost_found', 'first_aid', 'prayer', 'toilet', 'atm',
              'charging', 'luggage', 'smoking', 'taxi', 'metro', 'directions', 'directions_unknown', 'exhibitors',
              'exhibitors_none', 'slots', 'slots_none', 'need_exhibitor', 'booked', 'taken', 'cancelled',
              'no_meeting', 'events', 'events_none', 'staff', 'unknown', 'goodbye', 'clarify', 'not_found',
              'present_yes', 'present_elsewhere', 'exhibit', 'ask_name', 'not_available', 'choose_item', 'greeting',
              'abuse', 'anything_else')
# A short noun phrase per router intent, for the clarifying question ("Do you mean {a} or {b}?").
LABEL_KEYS = ('hours', 'badge', 'wifi', 'transport', 'taxi', 'metro', 'food', 'lost_found', 'first_aid', 'prayer',
              'toilet', 'atm', 'charging', 'luggage', 'smoking', 'directions', 'presence', 'matchmaking', 'meeting',
              'cancel', 'events', 'staff')
WORD_KEYS = ('ahead', 'ahead_right', 'right', 'behind_right', 'behind', 'behind_left', 'left', 'ahead_left',
             'here', 'route', 'floor', 'list_sep', 'exhibitor_item', 'event_item', 'date')
PLACE_FACTS = ('food', 'lost_found', 'first_aid', 'prayer', 'badge', 'transport', 'atm', 'charging', 'luggage',
               'smoking', 'taxi', 'metro')
# What kind of place each facts.<key>_place must be (toilets are no single fact: the nearest of kind toilet).
PLACE_FACT_KINDS = {'food': 'food', 'lost_found': 'service', 'first_aid': 'medical', 'prayer': 'prayer',
                    'badge': 'service', 'transport': 'shuttle', 'atm': 'atm', 'charging': 'charging',
                    'luggage': 'luggage', 'smoking': 'smoking', 'taxi': 'taxi', 'metro': 'metro'}
PLACE_KINDS = ('hall', 'pavilion', 'service', 'toilet', 'atm', 'charging', 'luggage', 'smoking', 'taxi', 'metro',
               'food', 'prayer', 'medical', 'shuttle', 'forum', 'exhibit_area')
_HHMM = re.compile(r'^([01]\d|2[0-3]):[0-5]\d$')
_ID = re.compile(r'^[a-z0-9][a-z0-9_-]{0,63}$')


class SeedError(ConfigError):
    """The seed folder or reply templates are malformed; the message names the file and the item."""


# -- the file formats ----------------------------------------------------------------------------

def _language_code(code: str) -> str:
    if code not in LANGUAGES:
        raise ValueError(f'unknown language code {code!r}; known: {" ".join(LANGUAGES)}')
    return code


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f'time must be "HH:MM" in quotes, got {value!r}')
    return value


def _seed_id(value: str) -> str:
    if not _ID.match(value):
        raise ValueError(f'ids are lower-case letters, digits, _ and -, got {value!r}')
    return value


def _with_english(names: dict[str, str]) -> dict[str, str]:
    if 'en' not in names:
        raise ValueError('names need at least an "en" entry')
    return names


def _as_lists(value: Any) -> Any:
    return {k: v if isinstance(v, list) else [v] for k, v in value.items()} if isinstance(value, dict) else value


LanguageCode = Annotated[str, AfterValidator(_language_code)]
HHMM = Annotated[str, BeforeValidator(lambda v: v if isinstance(v, str) else repr(v)), AfterValidator(_hhmm)]
SeedId = Annotated[str, AfterValidator(_seed_id)]
LocalNames = dict[LanguageCode, str]
Names = Annotated[LocalNames, AfterValidator(_with_english)]
Terms = Annotated[dict[LanguageCode, list[str]], BeforeValidator(_as_lists)]


class SeedModel(ConfigModel):
    # Booth numbers, ids and names may look like numbers to YAML (e.g. booth: 101): they are text.
    model_config = ConfigDict(coerce_numbers_to_str=True)


class Expo(SeedModel):
    names: Names
    venue: Names
    days: list[dt.date] = Field(min_length=1)
    utc_offset_hours: float = 8


class Facts(SeedModel):
    """Values the FAQ replies quote; any further key (wifi_ssid, ...) is a template value too."""
    model_config = ConfigDict(extra='allow')
    open: HHMM
    close: HHMM
    badge_place: str
    transport_place: str
    food_place: str
    lost_found_place: str
    first_aid_place: str
    prayer_place: str
    atm_place: str
    charging_place: str
    luggage_place: str
    smoking_place: str
    taxi_place: str
    metro_place: str


class Entrance(SeedModel):
    names: Names
    x: float
    y: float
    facing_deg: float
    floor: int = 1


class Place(SeedModel):
    names: Names
    aliases: Terms = {}
    x: float
    y: float
    floor: int = 1
    hall: str = ''
    kind: Optional[Literal[PLACE_KINDS]] = None  # type: ignore[valid-type]  # what the place is (toilet, atm, ...)


class VenueFile(SeedModel):
    expo: Expo
    facts: Facts
    entrances: dict[SeedId, Entrance]
    places: dict[SeedId, Place]


class Country(SeedModel):
    names: Names
    terms: Terms = {}
    pavilion: Optional[str] = None


class Tag(SeedModel):
    kind: Literal['product', 'sector']
    terms: Terms


class VocabularyFile(SeedModel):
    countries: dict[str, Country]
    tags: dict[str, Tag]


class Exhibitor(SeedModel):
    id: str
    name: str
    names: LocalNames = {}
    aliases: list[str] = []
    country: str
    hall: str
    booth: str
    products: list[str] = []
    sectors: list[str] = []
    description: str = ''
    meeting_hours: list[tuple[HHMM, HHMM]]
    slot_minutes: int = Field(30, ge=5, le=240)

    @model_validator(mode='after')
    def _windows_in_order(self):
        for start, end in self.meeting_hours:
            if end <= start:
                raise ValueError(f'meeting window {start}-{end} ends before it starts')
        return self


class ExhibitorsFile(SeedModel):
    exhibitors: list[Exhibitor]


class Event(SeedModel):
    id: str
    day: dt.date
    start: HHMM
    end: HHMM
    place: str
    kind: str = 'forum'
    titles: Names


class EventsFile(SeedModel):
    events: list[Event]


class Exhibit(SeedModel):
    """Something on show that is not a company: lunar soil samples, a ship model, ..."""
    id: str
    names: Names
    aliases: Terms = {}
    place: str
    booth: str = ''
    description: str = ''


class ExhibitsFile(SeedModel):
    exhibits: list[Exhibit]


class RepliesFile(SeedModel):
    """data/replies/<language>.yaml: routing keywords, reply pieces and templates of one language."""
    language: LanguageCode
    name: str
    keywords: dict[Literal[INTENT_KEYWORDS], list[str]]  # type: ignore[valid-type]
    words: dict[Literal[WORD_KEYS], str]  # type: ignore[valid-type]
    replies: dict[Literal[REPLY_KEYS], str]  # type: ignore[valid-type]
    labels: dict[Literal[LABEL_KEYS], str]  # type: ignore[valid-type]


M = TypeVar('M', bound=ConfigModel)


def _load(model: type[M], path: Path) -> M:
    try:
        return load_config(model, path)
    except ConfigError as exc:
        raise SeedError(str(exc)) from None


# -- loading -------------------------------------------------------------------------------------

def load_seed_folder(folder: str | Path) -> dict:
    """Read and validate a seed folder; returns the catalog document that load-seed stores."""
    folder = Path(folder)
    venue = _load(VenueFile, folder / 'venue.yaml')
    vocabulary = _load(VocabularyFile, folder / 'vocabulary.yaml')
    exhibitors = _load(ExhibitorsFile, folder / 'exhibitors.yaml').exhibitors
    events = _load(EventsFile, folder / 'events.yaml').events
    # exhibits.yaml is optional: a seed folder without exhibits has none
    exhibits = _load(ExhibitsFile, folder / 'exhibits.yaml').exhibits if (folder / 'exhibits.yaml').exists() else []

    days = [day.isoformat() for day in venue.expo.days]
    catalog: dict[str, Any] = {
        'expo': {'names': venue.expo.names, 'venue': venue.expo.venue, 'days': days,
                 'utc_offset_hours': venue.expo.utc_offset_hours},
        'facts': {}, 'entrances': {}, 'places': {}, 'countries': {}, 'tags': {}, 'exhibitors': [], 'events': [],
        'exhibits': []}
    facts = venue.facts.model_dump()
    catalog['facts'] = {'open': facts.pop('open'), 'close': facts.pop('close')}
    for key, value in facts.items():
        catalog['facts'][key] = value if isinstance(value, (str, int, float)) else str(value)

    for pid, place in venue.places.items():
        catalog['places'][pid] = {'names': place.names, 'aliases': place.aliases, 'x': place.x, 'y': place.y,
                                  'floor': place.floor, 'hall': place.hall, 'kind': place.kind}
    for eid, entrance in venue.entrances.items():
        catalog['entrances'][eid] = {'names': entrance.names, 'x': entrance.x, 'y': entrance.y,
                                     'facing_deg': entrance.facing_deg, 'floor': entrance.floor}
    for key in PLACE_FACTS:
        place = catalog['facts'][f'{key}_place']
        if place not in catalog['places']:
            raise SeedError(f'venue.yaml facts.{key}_place: unknown place {place!r}')
        kind = catalog['places'][place]['kind']
        if kind is not None and kind != PLACE_FACT_KINDS[key]:
            raise SeedError(f'venue.yaml facts.{key}_place: place {place!r} is a {kind}, not a {PLACE_FACT_KINDS[key]}')

    for code, country in vocabulary.countries.items():
        if country.pavilion is not None and country.pavilion not in catalog['places']:
            raise SeedError(f'vocabulary.yaml countries.{code}: unknown pavilion place {country.pavilion!r}')
        catalog['countries'][code] = {'names': country.names, 'terms': country.terms, 'pavilion': country.pavilion}
    for tag, entry in vocabulary.tags.items():
        catalog['tags'][tag] = {'kind': entry.kind, 'terms': entry.terms}

    seen = set()
    for index, ex in enumerate(exhibitors):
        if not _ID.match(ex.id) or ex.id in seen:
            raise SeedError(f'exhibitors.yaml item {index + 1}: id {ex.id!r} is malformed or repeated')
        seen.add(ex.id)
        where = f'exhibitors.yaml {ex.id}'
        if ex.country not in catalog['countries']:
            raise SeedError(f'{where}: unknown country {ex.country!r}')
        if ex.hall not in catalog['places']:
            raise SeedError(f'{where}: unknown hall place {ex.hall!r}')
        unknown = [t for t in ex.products + ex.sectors if t not in catalog['tags']]
        if unknown:
            raise SeedError(f'{where}: unknown tags {unknown} (add them to vocabulary.yaml)')
        catalog['exhibitors'].append({
            'id': ex.id, 'name': ex.name, 'names': {'en': ex.name, **ex.names}, 'aliases': ex.aliases,
            'country': ex.country, 'hall': ex.hall, 'booth': ex.booth, 'products': ex.products,
            'sectors': ex.sectors, 'description': ex.description,
            'meeting_hours': [list(window) for window in ex.meeting_hours], 'slot_minutes': ex.slot_minutes})

    for index, event in enumerate(events):
        where = f'events.yaml item {index + 1}'
        day = event.day.isoformat()
        if day not in days:
            raise SeedError(f'{where}: day {day} is not one of the expo days')
        if event.place not in catalog['places']:
            raise SeedError(f'{where}: unknown place {event.place!r}')
        catalog['events'].append({'id': event.id, 'day': day, 'start': event.start, 'end': event.end,
                                  'place': event.place, 'kind': event.kind, 'titles': event.titles})
    catalog['events'].sort(key=lambda e: (e['day'], e['start']))

    seen = set()
    for index, exhibit in enumerate(exhibits):
        if not _ID.match(exhibit.id) or exhibit.id in seen:
            raise SeedError(f'exhibits.yaml item {index + 1}: id {exhibit.id!r} is malformed or repeated')
        seen.add(exhibit.id)
        if exhibit.place not in catalog['places']:
            raise SeedError(f'exhibits.yaml {exhibit.id}: unknown place {exhibit.place!r}')
        catalog['exhibits'].append({'id': exhibit.id, 'names': exhibit.names, 'aliases': exhibit.aliases,
                                    'place': exhibit.place, 'booth': exhibit.booth,
                                    'description': exhibit.description})
    return catalog


def load_replies(folder: str | Path) -> dict[str, dict]:
    """All 11 languages' keyword lists and reply templates; any missing piece is a SeedError at start-up."""
    folder = Path(folder)
    replies = {}
    for language in LANGUAGES:
        path = folder / f'{language}.yaml'
        data = _load(RepliesFile, path)
        if data.language != language:
            raise SeedError(f'{path}: language: "language: {language}" expected, not {data.language!r}')
        for group, keys in (('keywords', INTENT_KEYWORDS), ('words', WORD_KEYS), ('replies', REPLY_KEYS),
                            ('labels', LABEL_KEYS)):
            missing = [k for k in keys if k not in getattr(data, group)]
            if missing:
                raise SeedError(f'{path}: {group} lacks {missing}')
        replies[language] = {'keywords': {k: [normalize(t) for t in v] for k, v in data.keywords.items()},
                             'words': dict(data.words), 'replies': dict(data.replies), 'labels': dict(data.labels)}
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
