"""Which language one person is answered in, and `/releases language de|en|auto`.

The order: the person's own choice (stored per team and user), else their Slack language
(`users.info` locale, looked up without holding the answer long), else the workspace
default (DEFAULT_LANGUAGE), else English. Channel posts do not come here: a channel has many
readers, so they use the language of their subscription.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from bot.i18n import DEFAULT, LANGUAGES, Texts, language_of_slack_locale, supported, texts_for
from bot.query import LanguageCommand

log = logging.getLogger(__name__)

# A Slack user's locale tag (`de-DE`) by team and user id; None when unknown or too slow.
SlackLocale = Callable[[str, str], str | None]
_NAMES = {"de": "Deutsch", "en": "English"}


class LanguageChoices(Protocol):
    """The languages people chose; provided by the notifications' store where there is one."""

    def language_of(self, team_id: str, user_id: str) -> str | None: ...

    def choose_language(self, team_id: str, user_id: str, language: str | None) -> None:
        """Store `language`; None forgets the choice (the Slack language applies again)."""
        ...


class Languages:
    def __init__(
        self,
        *,
        choices: LanguageChoices | None = None,
        slack_locale: SlackLocale | None = None,
        default: str = DEFAULT,
    ) -> None:
        self._choices = choices
        self._slack_locale = slack_locale
        self._default = default if supported(default) else DEFAULT

    @property
    def default(self) -> Texts:
        """The workspace default's Texts (channel posts that name no language use it)."""
        return texts_for(self._default)

    def for_posts(self, language: str | None) -> Texts:
        """The Texts of a subscription's channel posts: its own language, else the default."""
        return texts_for(language) if language and supported(language) else self.default

    def for_user(self, team_id: str, user_id: str) -> Texts:
        """The Texts one person reads; never fails (the default stands in)."""
        return texts_for(self.language_of(team_id, user_id))

    def language_of(self, team_id: str, user_id: str) -> str:
        if not user_id:
            return self._default
        chosen = self._chosen(team_id, user_id)
        if chosen is not None:
            return chosen
        return self._from_slack(team_id, user_id) or self._default

    def choose(self, command: LanguageCommand, team_id: str, user_id: str) -> str:
        """Carry out `/releases language`: the answer (mrkdwn), in the language now in use.

        Raises LookupError when choices cannot be stored here."""
        if command.choice is None:
            texts = self.for_user(team_id, user_id)
            return texts._(
                "I answer you in {language}. `/releases language de`, `en` or `auto` "
                "changes that.", language=_NAMES.get(texts.language, texts.language),
            )
        if self._choices is None or not user_id:
            raise LookupError("no store for language choices")
        stored = None if command.choice == "auto" else command.choice
        self._choices.choose_language(team_id, user_id, stored)
        texts = self.for_user(team_id, user_id)
        language = _NAMES.get(texts.language, texts.language)
        if stored is None:
            return texts._(
                "I follow your Slack language again; for now that is {language}.",
                language=language,
            )
        return texts._("From now on I answer you in {language}.", language=language)

    def _chosen(self, team_id: str, user_id: str) -> str | None:
        if self._choices is None:
            return None
        try:
            chosen = self._choices.language_of(team_id, user_id)
        except Exception as exc:
            log.warning("language choice of %s unreadable (%s); using the Slack language",
                        user_id, type(exc).__name__)
            return None
        return chosen if chosen in LANGUAGES else None

    def _from_slack(self, team_id: str, user_id: str) -> str | None:
        if self._slack_locale is None:
            return None
        try:
            return language_of_slack_locale(self._slack_locale(team_id, user_id))
        except Exception as exc:
            log.warning("Slack locale of %s unreadable (%s); using the default language",
                        user_id, type(exc).__name__)
            return None
