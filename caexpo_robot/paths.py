"""Where the package's installed data (config/, launch/) lives, however it was installed.

Three layouts exist: a source checkout or editable pip install (data next to the package),
a colcon install (ament index), and `pip install .` (data_files under sys.prefix/share).
"""
from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

PACKAGE = 'caexpo_robot'


@lru_cache(maxsize=1)
def share_dir() -> Path:
    source_root = Path(__file__).resolve().parent.parent
    if (source_root / 'package.xml').is_file() and (source_root / 'config').is_dir():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory
        return Path(get_package_share_directory(PACKAGE))
    except Exception:  # not on an ament install (LookupError, KeyError, ImportError)
        pass
    installed = Path(sys.prefix) / 'share' / PACKAGE
    if (installed / 'config').is_dir():
        return installed
    raise FileNotFoundError(
        f'cannot find the {PACKAGE} share directory (config/, launch/): looked next to the '
        f'package, in the ament index and in {installed}')


def config_path(*parts: str) -> Path:
    """A file or folder under the package's config/ directory."""
    return share_dir().joinpath('config', *parts)
