"""Who asked, and where: the parts of a Slack payload every answer depends on.

Two teams, never confused: `team_id` is the installation that answers (whose data and whose
subscriptions these are), `home_team_id` the actor's own workspace. In a channel shared
through Slack Connect they differ, and the actor is a user of another organisation.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.tenant import Tenant


@dataclass(frozen=True, slots=True)
class Caller:
    """The installation, channel and user of one request, and the user's home team."""

    team_id: str = ""  # the installation that answers
    channel_id: str = ""
    user_id: str = ""
    user_name: str = ""
    enterprise_id: str = ""  # the installation's Enterprise Grid org, if any
    home_team_id: str = ""  # the actor's own workspace; "" when the payload does not say
    home_enterprise_id: str = ""  # the actor's own org, if the payload says
    ext_shared_channel: bool = False  # Slack marked the channel shared with other orgs

    @property
    def tenant(self) -> Tenant:
        """The installation's workspace (with its org): whose connection answers."""
        return Tenant(self.enterprise_id, self.team_id)

    @property
    def is_external(self) -> bool:
        """A user of another organisation: their home team is not the installation's, and
        not in the installation's Grid org. Unknown home team: not external by the payload
        (the users.info look-up of privileged actions still checks)."""
        home = self.home_team_id
        if self.enterprise_id and self.enterprise_id in (home, self.home_enterprise_id):
            return False
        if home:
            return bool(self.team_id) and home != self.team_id
        return bool(self.home_enterprise_id) and self.home_enterprise_id != self.enterprise_id
