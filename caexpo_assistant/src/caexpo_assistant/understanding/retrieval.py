"""Exhibitors found by meaning, when no product, sector, country or name in the question settles it.

Each exhibitor is one e5 passage (its names, what it sells, its sectors and country, its description),
embedded once per catalog version. A question's similarity to those passages

- breaks ties between exhibitors the keyword search ranked equal ("banana from Davao": both fruit
  firms match "fruit" and the Philippines; the passage that says bananas wins, not the alphabet), and
- finds exhibitors when no keyword matched at all, but only above RETRIEVAL_FLOOR and close to the best
  one (RETRIEVAL_SPREAD): e5 similarities are never low, so a floor is what keeps "Tesla" from
  becoming an electric-vehicle firm.
"""
from __future__ import annotations

import threading

import numpy as np

from ..catalog import Catalog
from .embeddings import Encoder

RETRIEVAL_FLOOR = 0.86
RETRIEVAL_SPREAD = 0.015


def exhibitor_passage(catalog: Catalog, ex: dict) -> str:
    names = ' / '.join(dict.fromkeys([ex['name'], *ex['names'].values(), *ex.get('aliases', [])]))
    tags = []
    for tag in ex['products'] + ex['sectors']:
        terms = catalog.tags[tag]['terms']
        tags.append(' / '.join(dict.fromkeys(terms.get('en', [tag])[:2] + terms.get('zh', [])[:1])))
    country = catalog.countries[ex['country']]['names']
    return (f'{names}. {"; ".join(tags)}. {country["en"]} ({country.get("zh", "")}). {ex.get("description", "")}')


class ExhibitorIndex:
    """Passage vectors of one catalog version's exhibitors (built on first use, shared by threads)."""

    def __init__(self, encoder: Encoder):
        self.encoder = encoder
        self._lock = threading.Lock()
        self._version: tuple[int, int] | None = None
        self._ids: list[str] = []
        self._vectors = np.zeros((0, 384), np.float32)

    def _refresh(self, catalog: Catalog) -> None:
        key = (catalog.version, id(catalog.doc))
        if self._version == key:
            return
        with self._lock:
            if self._version == key:
                return
            exhibitors = catalog.doc['exhibitors']
            vectors = self.encoder.batch([exhibitor_passage(catalog, ex) for ex in exhibitors], False)
            self._ids, self._vectors, self._version = [ex['id'] for ex in exhibitors], vectors, key

    def warm(self, catalog: Catalog) -> None:
        self._refresh(catalog)

    def similarities(self, catalog: Catalog, text: str) -> dict[str, float]:
        self._refresh(catalog)
        sims = self._vectors @ self.encoder.query(text)
        return dict(zip(self._ids, (float(s) for s in sims), strict=True))

    def rank(self, catalog: Catalog, text: str, ranked: list[tuple[dict, int]]) -> list[tuple[dict, int]]:
        """`ranked` (keyword search) re-ordered by meaning within equal scores; if empty, the exhibitors
        the question means, when it clearly means some."""
        sims = self.similarities(catalog, text)
        if ranked:
            return sorted(ranked, key=lambda item: (-item[1], -sims.get(item[0]['id'], 0.0)))
        best = max(sims.values(), default=0.0)
        if best < RETRIEVAL_FLOOR:
            return []
        close = sorted((s, i) for i, s in sims.items() if s >= best - RETRIEVAL_SPREAD)
        return [(catalog.exhibitors[i], 1) for s, i in sorted(close, reverse=True)][:5]
