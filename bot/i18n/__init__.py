"""Texts in the reader's language: gettext catalogs for words, Babel for dates and numbers.

A `Texts` is handed to every renderer like any other input (never installed globally: one
process answers many users on many threads). `texts_for("de")` gives the German one; English
is the source language, so its catalog is the msgids themselves.
"""

from bot.i18n.languages import DEFAULT, LANGUAGES, language_of_slack_locale, supported
from bot.i18n.texts import ENGLISH, N_, Texts, texts_for

__all__ = [
    "DEFAULT",
    "ENGLISH",
    "LANGUAGES",
    "N_",
    "Texts",
    "language_of_slack_locale",
    "supported",
    "texts_for",
]
