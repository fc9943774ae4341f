"""The one shape every renderer returns: blocks plus the plain-text fallback Slack requires."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    # Who sees it is not the message's to say: `Reply.mode` (bot/app/answers.py) decides.
    meta: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for Bolt's respond()/say() and for chat.postMessage."""
        return {"text": self.text, "blocks": list(self.blocks)}
