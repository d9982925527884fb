"""Languages: metadata (languages.py), the phrasebook, script detection and text language ID."""
from caexpo_robot.language.languages import (  # noqa: F401  (re-exported: the single source of truth)
    FALLBACK_LANGUAGE, LANGUAGE_INFO, LANGUAGES, LanguageInfo, language_info)
