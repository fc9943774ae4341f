"""The one shape every renderer returns: blocks plus the plain-text fallback Slack requires."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    # Where Slack should show it: "ephemeral" (only the caller) or "in_channel".
    response_type: str = "ephemeral"
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for Bolt's respond()/say() and for chat.postMessage."""
        return {"text": self.text, "blocks": list(self.blocks)}
