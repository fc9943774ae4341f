"""Typed failures of the MetaKraftwerk API, each carrying a message fit to show a Slack user.

A user message is the bot's own words: a status, what the bot knows, and a short `ref`. What
the server said (which may hold anything, credentials included) goes only to the log, masked,
under the same ref, and to `detail` for the operator's `check` command.
"""

from __future__ import annotations

from bot.i18n import N_


class MetaKraftwerkError(Exception):
    """Base of every API failure; `user_message` is safe to show (no secret, no traceback).

    `str()` is the user message too, so logging the exception shows nothing more. `detail` is
    the server's own text, masked; never put it in front of a Slack user.
    """

    def __init__(
        self, user_message: str, *, ref: str | None = None, detail: str | None = None
    ) -> None:
        super().__init__(user_message)
        self.user_message = user_message
        self.ref = ref
        self.detail = detail


class CredentialsRejected(MetaKraftwerkError):
    """The token or the email/password was refused (HTTP 401 after a fresh login)."""


class GroupNotFound(MetaKraftwerkError):
    """A `group` filter named no release group (HTTP 404 on the list endpoint)."""


class ReleaseNotFound(MetaKraftwerkError):
    """No release with that id (HTTP 404 on the by-id endpoint)."""

    def __init__(self, release_id: int, user_message: str | None = None) -> None:
        super().__init__(user_message or f"No release with id {release_id}")
        self.release_id = release_id


class Unavailable(MetaKraftwerkError):
    """The API could not be reached or kept failing until the deadline; `cause` says how."""

    def __init__(self, user_message: str, cause: str) -> None:
        super().__init__(user_message)
        self.cause = cause


class BadResponse(MetaKraftwerkError):
    """The API answered, but with something that is not the documented JSON."""


class NotConnected(MetaKraftwerkError):
    """No MetaKraftwerk connection serves this workspace yet (distributed mode).

    `installer` is the Slack user who installed the app, `home_url` a link to the app's App
    Home, where an admin connects it; either is None when unknown.
    """

    def __init__(self, installer: str | None = None, home_url: str | None = None) -> None:
        super().__init__(N_("MetaKraftwerk isn't connected for this workspace yet."))
        self.installer = installer
        self.home_url = home_url


class ConnectionFailing(CredentialsRejected):
    """The workspace's connection cannot log in; an admin fixes it in App Home."""

    def __init__(self) -> None:
        super().__init__(N_(
            "The MetaKraftwerk connection of this workspace is failing: MetaKraftwerk did not "
            "accept its login. An admin can reconnect it in App Home."
        ))
