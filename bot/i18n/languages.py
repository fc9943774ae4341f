"""Which languages the bot speaks, and how a Slack locale tag maps onto one of them.

Slack's tags are IETF-style (`de-DE`, `es-LA`); Babel's are CLDR identifiers (`de_DE`,
`es_419`). A tag Babel does not know, or a language without a catalog, means English.
"""

from __future__ import annotations

from functools import lru_cache

from babel.core import Locale, UnknownLocaleError, negotiate_locale

DEFAULT = "en"
LANGUAGES = ("en", "de")  # the catalogs in bot/locale (English is the source language)
# Slack tags that are not CLDR identifiers, and the CLDR identifier each stands for.
SLACK_TAGS = {"es-LA": "es_419", "zh-Hans": "zh_Hans", "zh-Hant": "zh_Hant"}


def supported(language: str) -> bool:
    return language in LANGUAGES


@lru_cache(maxsize=256)
def babel_locale(slack_tag: str) -> Locale | None:
    """The Babel locale for a Slack locale tag; None for a tag Babel cannot read."""
    tag = SLACK_TAGS.get(slack_tag.strip(), slack_tag.strip())
    if not tag:
        return None
    try:
        return Locale.parse(tag.replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def language_of_slack_locale(slack_tag: str | None) -> str | None:
    """The bot language for a Slack user's `locale` (`de-DE` -> `de`); None when none fits."""
    if not slack_tag:
        return None
    locale = babel_locale(slack_tag)
    if locale is None:
        return None
    return negotiate_locale([str(locale)], list(LANGUAGES))
