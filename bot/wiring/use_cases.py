"""The use cases of one process, each built once over the same finder, clock and store.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient

from bot.app.answers import Answers
from bot.app.finders import Finders, OneFinder
from bot.app.gate import AudienceLookup, ChannelCheck, Gate
from bot.app.home import Home
from bot.app.language import Languages
from bot.app.search_form import SearchForms
from bot.app.timing import TimedAnswers
from bot.app.workflow_step import FindReleasesStep
from bot.config import Settings
from bot.health import DatabaseProbe
from bot.notify.follow_commands import FollowCommands
from bot.notify.store import Store
from bot.notify.subscription_commands import SubscriptionCommands
from bot.notify.user_timezone import slack_user_timezone
from bot.slack.channel_sharing import shared_channel_check
from bot.slack.surfaces import Surfaces
from bot.slack.user_locale import SlackLocales
from bot.slack.user_standing import lookup_client, slack_audience
from bot.wiring.services import Services

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class UseCases:
    """Every use case of one process, each built once, over the same finder, clock and store."""

    answers: TimedAnswers
    surfaces: Surfaces



def build_use_cases(
    services: Services,
    subscriptions: SubscriptionCommands | None = None,
    languages: Languages | None = None,
    *,
    audience: AudienceLookup | None = None,
    channel: ChannelCheck | None = None,
    finders: Finders | None = None,
) -> UseCases:
    """The answers to `/releases`, App Home, the search form and the Workflow Builder step;
    `audience` tells guests and users of other organisations (none: everyone is a member),
    `channel` refuses posting into a channel shared with other organisations. `finders`
    choose each request's finder (distributed mode: its workspace's connection); without
    them every request reads the one finder of `services`."""
    finders = finders or OneFinder(services.finder)
    follows = build_follows(services, subscriptions, finders)
    languages = languages or build_languages(services, subscriptions, None)
    answers = _answers(
        services, subscriptions, follows, languages, Gate(audience, channel), finders
    )
    home = Home(
        finders,
        clock=services.clock,
        subscriptions=subscriptions,
        follows=follows,
        rows=subscriptions,
        languages=languages,
    )
    return UseCases(
        answers,
        Surfaces(
            home=home,
            search_forms=SearchForms(answers, finders),
            workflow_step=FindReleasesStep(finders, services.clock),
        ),
    )



def build_answers(
    services: Services,
    subscriptions: SubscriptionCommands | None = None,
    languages: Languages | None = None,
) -> Answers:
    """The answers alone, where no other surface is served (the one-shot `ask`)."""
    languages = languages or build_languages(services, subscriptions, None)
    return _answers(
        services, subscriptions, build_follows(services, subscriptions), languages, Gate()
    )



def build_languages(
    services: Services,
    subscriptions: SubscriptionCommands | None,
    web_client: WebClient | None,
    *,
    default: str | None = None,
) -> Languages:
    """Who reads which language: choices in the store, Slack locales, DEFAULT_LANGUAGE."""
    locales = None
    if web_client is not None:
        locales = SlackLocales(web_client, clock=services.clock)
        services.on_close(locales.close)
    return Languages(
        choices=subscriptions.store.languages if subscriptions is not None else None,
        slack_locale=locales,
        default=default or services.settings.default_language,
    )



def _answers(
    services: Services,
    subscriptions: SubscriptionCommands | None,
    follows: FollowCommands | None,
    languages: Languages,
    gate: Gate,
    finders: Finders | None = None,
) -> TimedAnswers:
    # The standup reads when the worker saw releases close from the subscriptions' store.
    return TimedAnswers(
        finders or services.finder,
        clock=services.clock,
        subscriptions=subscriptions,
        follows=follows,
        release_link=services.settings.metakraftwerk_web_url,
        closed_times=(
            (lambda ids: subscriptions.store.outbox.closed_times(ids)) if subscriptions else None
        ),
        user_timezone=subscriptions.user_timezone if subscriptions is not None else None,
        languages=languages,
        gate=gate,
    )



def build_follows(
    services: Services, subscriptions: SubscriptionCommands | None,
    finders: Finders | None = None,
) -> FollowCommands | None:
    """Following releases shares the subscriptions' store: without one, nobody can follow."""
    if subscriptions is None:
        return None
    return FollowCommands(
        subscriptions.store, finders or services.finder, clock=services.clock
    )



def open_store(services: Services) -> Store:
    """The store named by DATABASE_URL, closed with the process; /healthz pings it."""
    store = Store.from_url(services.settings.database_url, clock=services.clock)
    services.on_close(store.close)
    services.database = DatabaseProbe(store.ping)
    services.on_close(services.database.close)
    return store


def build_subscriptions(
    services: Services,
    web_client: WebClient | None,
    *,
    store: Store | None = None,
    finders: Finders | None = None,
) -> SubscriptionCommands:
    """The notification commands over `store` (else the one DATABASE_URL names); with
    `finders`, a subscription's groups are checked against the caller's own connection."""
    store = store or open_store(services)

    def no_timezone(user_id: str) -> str | None:
        return None

    return SubscriptionCommands(
        store,
        settings=services.settings,
        group_names=services.finder.group_names,
        user_timezone=slack_user_timezone(web_client) if web_client is not None else no_timezone,
        clock=services.clock,
        group_names_of=(
            (lambda caller: finders.for_caller(caller).group_names())
            if finders is not None else None
        ),
    )



def build_audience(settings: Settings) -> AudienceLookup:
    """Who is a guest or of another organisation, from users.info on a client of its own."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return slack_audience(lookup_client(token, settings.slack_api_url))



def build_channel_check(settings: Settings, subscriptions: SubscriptionCommands) -> ChannelCheck:
    """Channels shared with other organisations get no subscriptions unless allowed."""
    token = settings.slack_bot_token.value if settings.slack_bot_token else None
    return shared_channel_check(
        lookup_client(token, settings.slack_api_url), subscriptions.store.shared_channels.is_allowed
    )
