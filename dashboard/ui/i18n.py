"""The pages' name for the text catalog, which lives below core in `dashboard.core.text`."""

from dashboard.core.text import DEFAULT_LANG, LANG_NAMES, LANGS, LOCALES_DIR, messages, normalize_lang, t

__all__ = ["DEFAULT_LANG", "LANG_NAMES", "LANGS", "LOCALES_DIR", "messages", "normalize_lang", "t"]
