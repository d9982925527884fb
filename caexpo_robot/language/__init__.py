"""Languages: metadata (languages.py), the phrasebook, script detection and text language ID."""
from caexpo_robot.language.languages import FALLBACK_LANGUAGE, LANGUAGE_INFO, LANGUAGES, LanguageInfo, language_info

# Re-exported: languages.py stays the one definition.
__all__ = ['FALLBACK_LANGUAGE', 'LANGUAGE_INFO', 'LANGUAGES', 'LanguageInfo', 'language_info']
