"""Refresh the shipped vector caches: `python -m caexpo_assistant.understanding.refresh` (about 1 minute
on 2 cores) after editing data/exemplars/*.yaml or the packaged seed's exhibitors and events; a test fails
while they are stale (a server would otherwise embed them at every fresh start)."""
from __future__ import annotations

import os
import sys

from ..catalog import Catalog, load_seed_folder
from ..paths import data_path
from .embeddings import Encoder, exemplar_folder, refresh_shipped_vectors, write_vectors
from .retrieval import SHIPPED, passages, passages_digest
from .router import ROUTES


def main() -> int:
    print(f'wrote {refresh_shipped_vectors(ROUTES)}', file=sys.stderr)
    items = passages(Catalog(load_seed_folder(data_path('seed')), {}))
    vectors = Encoder(threads=os.cpu_count() or 1).batch([p for _, p in items], False)
    write_vectors(exemplar_folder() / SHIPPED, passages_digest(items), vectors)
    print(f'wrote {exemplar_folder() / SHIPPED}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    sys.exit(main())
