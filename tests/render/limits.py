"""Checks any test can run on a rendered Message: Block Kit limits, and that nothing can ping.

`assert_within_limits(message)` validates every block with slack_sdk's own models (which
raise on the limits they know) and then checks every limit Slack documents, with our own
counts, so a renderer cannot produce a message Slack would reject.
`assert_escaped(message)` checks that no `<...>` markup is left except the tokens the bot
writes itself (dates), so foreign text can never mention anyone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block

from bot.render.message import Message

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_ACTION_ID = 255
MAX_BLOCK_ID = 255
MAX_FALLBACK = 4000
MAX_TOTAL_TEXT = 10_000

DATE_TOKEN = re.compile(r"<!date\^-?\d+\^\{[a-z_]+\}(?: \{[a-z_]+\})?\|[^<>|]+>")
MENTIONS = ("<!channel", "<!here", "<!everyone", "<@", "<!subteam", "<#")
_ENTITY = re.compile(r"&(?!(?:amp|lt|gt);)")


def text_objects(node: object) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and "text" in node:
            yield node
            return
        for value in node.values():
            yield from text_objects(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from text_objects(item)


def buttons(message: Message) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for block in message.blocks:
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and accessory.get("type") == "button":
            out.append(accessory)
        if block.get("type") == "actions":
            out.extend(e for e in block["elements"] if e.get("type") == "button")
    return out


def all_text(message: Message) -> str:
    """Every piece of text a reader or a notification could see, joined."""
    pieces = [message.text, *(obj["text"] for obj in text_objects(list(message.blocks)))]
    return "\n".join(pieces)


def _validate_with_slack_sdk(block: dict[str, Any]) -> None:
    parsed = Block.parse(block)
    assert parsed is not None, f"slack_sdk does not know this block: {block}"
    as_dict = parsed.to_dict()  # runs every validator, recursively through elements
    assert as_dict == block, f"slack_sdk dropped or changed something:\n{block}\n{as_dict}"


def assert_within_limits(message: Message) -> None:
    """Fail when `message` breaks a Block Kit limit or a rule of this app."""
    assert isinstance(message.text, str)
    assert message.text.strip(), "no fallback text"
    assert len(message.text) < MAX_FALLBACK, len(message.text)
    assert "link_names" not in message.payload()
    blocks = list(message.blocks)
    assert len(blocks) <= MAX_BLOCKS, len(blocks)
    total = sum(len(obj["text"]) for obj in text_objects(blocks))
    assert total < MAX_TOTAL_TEXT, total
    action_ids: list[str] = []
    block_ids: list[str] = []
    for block in blocks:
        _validate_with_slack_sdk(block)
        kind = block["type"]
        assert kind in ("header", "section", "context", "actions", "divider"), kind
        if "block_id" in block:
            assert len(block["block_id"]) <= MAX_BLOCK_ID
            block_ids.append(block["block_id"])
        if kind == "header":
            assert block["text"]["type"] == "plain_text"
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        elif kind == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
            fields = block.get("fields", [])
            assert len(fields) <= MAX_FIELDS
            for field in fields:
                assert 0 < len(field["text"]) <= MAX_FIELD_TEXT
        elif kind == "context":
            assert 0 < len(block["elements"]) <= MAX_CONTEXT_ELEMENTS
        elif kind == "actions":
            assert 0 < len(block["elements"]) <= MAX_ACTIONS_ELEMENTS
        for obj in text_objects(block):
            if obj["type"] == "mrkdwn":
                assert obj.get("verbatim") is True, f"mrkdwn without verbatim: {obj}"
            assert obj["text"], f"empty text object in {block}"
    for element in buttons(message):
        assert element["text"]["type"] == "plain_text"
        assert 0 < len(element["text"]["text"]) <= MAX_BUTTON_TEXT
        assert len(element.get("value", "")) <= MAX_BUTTON_VALUE
        assert 0 < len(element["action_id"]) <= MAX_ACTION_ID
        action_ids.append(element["action_id"])
    assert len(action_ids) == len(set(action_ids)), f"duplicate action ids: {action_ids}"
    assert len(block_ids) == len(set(block_ids)), f"duplicate block ids: {block_ids}"


def assert_escaped(message: Message, *, allow: tuple[str, ...] = ()) -> None:
    """Fail when any `<`, `>` or bare `&` is left beyond the bot's own date tokens.

    `allow` lists exact markup the test itself asked for (e.g. `<@U123>` for "shared by").
    """
    text = all_text(message)
    for token in allow:
        text = text.replace(token, "")
    for mention in MENTIONS:
        assert mention not in text, f"{mention} in {text!r}"
    text = DATE_TOKEN.sub("", text)
    assert "<" not in text, f"unescaped markup in: {text!r}"
    assert ">" not in text, f"unescaped markup in: {text!r}"
    assert not _ENTITY.search(text), f"bare & in: {text!r}"


def assert_valid(message: Message, *, allow: tuple[str, ...] = ()) -> None:
    assert_within_limits(message)
    assert_escaped(message, allow=allow)


ZWSP = "\u200b"
_BOUNDARY = re.compile(r"[\s\W]")


def assert_inert(fragment: str) -> None:
    """Foreign text shown inside our mrkdwn can format nothing: no line break, no backtick, and
    no `*`, `_` or `~` that Slack could read as opening or closing bold, italics or strikes
    (those need a space, punctuation or the text's edge on their outer side)."""
    assert "\n" not in fragment, fragment
    assert "`" not in fragment, fragment
    for i, char in enumerate(fragment):
        if char not in "*_~":
            continue
        before = fragment[i - 1] if i else " "
        after = fragment[i + 1] if i + 1 < len(fragment) else " "
        opens = _BOUNDARY.match(before) is not None and before != ZWSP
        closes = _BOUNDARY.match(after) is not None and after != ZWSP
        assert not opens, f"{char!r} at {i} of {fragment!r} can open formatting"
        assert not closes, f"{char!r} at {i} of {fragment!r} can close formatting"
