"""The translation object the renderers take: words from a catalog, formats from Babel.

English keeps the bot's compact forms (`2 min ago`, `2026-12-07 15:05 UTC`), so English
answers read as they always have; other languages get Babel's (`vor 2 Minuten`,
`7. Dez. 2026`). Placeholders are `str.format` names (`{count}`), never f-strings inside a
message: extraction would not see them.
"""

from __future__ import annotations

import gettext
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from babel.core import Locale
from babel.dates import format_skeleton, format_time, format_timedelta
from babel.lists import format_list
from babel.numbers import format_decimal

from bot.i18n.catalog import load_catalog
from bot.i18n.languages import DEFAULT, supported


def N_(message: str) -> str:
    """Marks a constant for extraction; it is translated where it is shown (`Texts._`)."""
    return message


@dataclass(frozen=True, slots=True, eq=False)
class Texts:
    """One language's words and formats; cheap to pass, built once per language."""

    language: str
    locale: Locale
    catalog: gettext.NullTranslations

    @property
    def english(self) -> bool:
        return self.language == DEFAULT

    def _(self, message: str, /, **values: object) -> str:
        """The message in this language, with `{name}` placeholders filled from `values`."""
        text = self.catalog.gettext(message)
        return text.format(**values) if values else text

    def ngettext(self, singular: str, plural: str, count: int, /, **values: object) -> str:
        """The singular or plural form for `count`; `{count}` is filled in, as a number."""
        text = self.catalog.ngettext(singular, plural, count)
        return text.format(count=self.number(count), **values)

    def number(self, value: int) -> str:
        """A count as the reader writes it (`1.234` in German); English as before (`1234`)."""
        if self.english or -1000 < value < 1000:
            return str(value)
        return format_decimal(value, locale=self.locale)

    def date(self, value: datetime) -> str:
        """A date without time, in the reader's words (`7. Dez. 2026`, `Dec 7, 2026`)."""
        return format_skeleton("yMMMd", value.astimezone(UTC), locale=self.locale)

    def date_time_utc(self, value: datetime) -> str:
        """A UTC time as text (the fallback of Slack's date tokens)."""
        value = value.astimezone(UTC)
        if self.english:
            return value.strftime("%Y-%m-%d %H:%M UTC")
        return f"{self.date(value)}, {format_time(value, 'HH:mm', locale=self.locale)} UTC"

    def relative(self, delta: timedelta, *, threshold: float = 0.85) -> str:
        """`vor 3 Minuten`, `in 3 Tagen`: a signed span in the reader's words."""
        return format_timedelta(
            delta, add_direction=True, threshold=threshold, locale=self.locale
        )

    def join(self, items: Sequence[str]) -> str:
        """`R59, R60 und R61`: a list in the reader's words."""
        return format_list(list(items), locale=self.locale)


@lru_cache(maxsize=8)
def texts_for(language: str) -> Texts:
    """The Texts of a language; English for one without a catalog."""
    if not supported(language):
        language = DEFAULT
    return Texts(language, Locale.parse(language), load_catalog(language))


ENGLISH = texts_for(DEFAULT)
