"""Exhibitors found by meaning, beside the names and tags the words match.

Each exhibitor is one e5 passage (names, what it sells, its country, its description), embedded once
per catalog version. For the packaged seed the vectors ship in
data/exemplars/catalog.npz (refreshed with the exemplars); another catalog is embedded at its first
use and kept in the user's cache folder. A question's similarity to those passages

- breaks ties the keyword search leaves ("banana from Davao": both fruit firms match "fruit" and the
  Philippines; the passage that says bananas from Davao wins, not the alphabet);
- finds the firm a booking names in a way the words miss, but only above a floor: e5 similarities are
  never low, so a floor is what keeps "Tesla" from becoming an electric-vehicle firm.

Places and exhibits are found by their names and aliases only (events by their day): measured on the
test set, e5 ranked a place question's right place and unrelated places within 0.01 of each other ("Zone C" in Burmese:
AI zone 0.827, Zone C 0.825; "is there a swimming pool": 0.81 for a hall), so meaning cannot tell them.
"""
from __future__ import annotations

import hashlib
import logging
import threading

import numpy as np

from ..catalog import Catalog
from .embeddings import Encoder, as_stored, cache_folder, exemplar_folder, read_vectors, write_vectors

log = logging.getLogger('caexpo_assistant.understanding')

FLOOR = 0.86     # the best passage must reach this to count when the words named no firm
SPREAD = 0.015   # ... and others within this of it count too
SHIPPED = 'catalog.npz'


def _names(*groups) -> str:
    seen = dict.fromkeys(n.strip() for group in groups for n in group if n and n.strip())
    return ' / '.join(seen)


def passages(catalog: Catalog) -> list[tuple[str, str]]:
    """(exhibitor id, passage) for every exhibitor: short (the model's cost grows with the length)."""
    out = []
    for ex in catalog.doc['exhibitors']:
        tags = [catalog.tags[tag]['terms'].get('en', [tag])[0] for tag in ex['products'] + ex['sectors']]
        country = catalog.countries[ex['country']]['names']['en']
        out.append((ex['id'], f'{_names([ex["name"]], ex["names"].values())}. {", ".join(tags)}. '
                    f'{country}. {ex.get("description", "")}'))
    return out


def passages_digest(items: list[tuple[str, str]]) -> str:
    return hashlib.sha256('\x00'.join(f'{i}\x01{p}' for i, p in items).encode()).hexdigest()


def passage_vectors(items: list[tuple[str, str]], encoder: Encoder) -> np.ndarray:
    """The passages' vectors: shipped, cached, or embedded now (and cached)."""
    digest = passages_digest(items)
    cached = cache_folder() / f'catalog-{digest[:16]}.npz'
    for path in (exemplar_folder() / SHIPPED, cached):
        vectors = read_vectors(path, digest, len(items))
        if vectors is not None:
            return vectors
    vectors = as_stored(encoder.batch([p for _, p in items], False))
    try:
        write_vectors(cached, digest, vectors)
    except OSError as exc:
        log.warning('could not keep the catalog vectors in %s: %s', cached.parent, exc)
    return vectors


class ExhibitorIndex:
    """Passage vectors of one catalog version's exhibitors (built at warm-up or first use, shared by threads)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self._lock = threading.Lock()
        self._key: tuple[int, int] | None = None
        self._ids: list[str] = []
        self._vectors = np.zeros((0, 384), np.float32)

    def _refresh(self, catalog: Catalog) -> None:
        key = (catalog.version, id(catalog.doc))
        if self._key == key:
            return
        with self._lock:
            if self._key == key:
                return
            items = passages(catalog)
            self._ids, self._vectors, self._key = [i for i, _ in items], passage_vectors(items, self.encoder), key

    def warm(self, catalog: Catalog) -> None:
        self._refresh(catalog)

    def similarities(self, catalog: Catalog, text: str) -> dict[str, float]:
        self._refresh(catalog)
        sims = self._vectors @ self.encoder.query(text)
        return dict(zip(self._ids, (float(s) for s in sims), strict=True))

    def clearly_meant(self, catalog: Catalog, text: str, limit: int = 5) -> list[str]:
        """The exhibitors the sentence clearly means: the best above FLOOR, and those within SPREAD of it."""
        sims = self.similarities(catalog, text)
        best = max(sims.values(), default=0.0)
        if best < FLOOR:
            return []
        return [i for s, i in sorted(((s, i) for i, s in sims.items() if s >= best - SPREAD), reverse=True)][:limit]

    def rank(self, catalog: Catalog, text: str, ranked: list[tuple[dict, int]]) -> list[tuple[dict, int]]:
        """`ranked` (keyword search) re-ordered by meaning within equal scores; if empty, the exhibitors
        the question clearly means, if any."""
        if ranked:
            if len(ranked) == 1 or ranked[0][1] != ranked[1][1]:
                return ranked   # no tie at the top: the words decided
            sims = self.similarities(catalog, text)
            return sorted(ranked, key=lambda item: (-item[1], -sims.get(item[0]['id'], 0.0)))
        return [(catalog.exhibitors[i], 1) for i in self.clearly_meant(catalog, text)]
