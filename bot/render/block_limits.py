"""Block Kit limits, and the one guard that makes any list of blocks respect them.

Slack rejects a whole message when one limit is broken (`invalid_blocks`, `msg_blocks_too_long`),
so every renderer passes its blocks through `fit_blocks` last: whatever the data, what leaves
the renderer is postable. Renderers size their pages to stay well inside these limits; the
guard is the net under that, cutting text (never inside a `<...>` token or an `&...;` entity)
and, as a last resort, dropping content blocks with a note saying so.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any, Final

Block = dict[str, Any]

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_FIELDS: Final = 10
MAX_FIELD_TEXT: Final = 2000
MAX_HEADER_TEXT: Final = 150
MAX_CONTEXT_ELEMENTS: Final = 10
MAX_CONTEXT_TEXT: Final = 2000  # not documented by Slack; kept at the field limit
MAX_ACTIONS_ELEMENTS: Final = 25
MAX_BUTTON_TEXT: Final = 75
MAX_BUTTON_VALUE: Final = 2000
MAX_ACTION_ID: Final = 255
MAX_BLOCK_ID: Final = 255
MAX_FALLBACK_TEXT: Final = 3000  # the top-level `text`; Slack wants it under 4000
MAX_TOTAL_TEXT: Final = 10_000  # all block text together must stay below this
TEXT_BUDGET: Final = 9_500  # what fit_blocks aims for, leaving room under MAX_TOTAL_TEXT

ELLIPSIS: Final = "…"
_MIN_SECTION = 120  # sections are not cut below this before blocks are dropped
_TOKEN_OR_ENTITY = re.compile(r"<[^<>]*>|&[A-Za-z]+;|&#\d+;")


def cut_mrkdwn(text: str, limit: int) -> str:
    """Cut already-escaped text to `limit` chars with an ellipsis, never halving a token."""
    if len(text) <= limit:
        return text
    if limit <= len(ELLIPSIS):
        return ""
    end = limit - len(ELLIPSIS)
    for match in _TOKEN_OR_ENTITY.finditer(text):
        if match.start() < end < match.end():
            end = match.start()
            break
        if match.start() >= end:
            break
    # A stray `<` without its `>` (cannot happen in escaped text, but never send half a token).
    head = text[:end]
    open_at = head.rfind("<")
    if open_at > head.rfind(">"):
        head = head[:open_at]
    return head.rstrip() + ELLIPSIS


def iter_text_objects(node: object) -> Iterator[dict[str, Any]]:
    """Every text object (`plain_text` or `mrkdwn`) anywhere inside blocks."""
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn") and isinstance(node.get("text"), str):
            yield node
            return
        for value in node.values():
            yield from iter_text_objects(value)
    elif isinstance(node, list | tuple):
        for item in node:
            yield from iter_text_objects(item)


_NESTED: Final = (dict, list, tuple)


def _text_size(node: object) -> int:
    # The same walk as iter_text_objects without a generator per level: it runs on every reply.
    size = 0
    if isinstance(node, dict):
        if node.get("type") in ("plain_text", "mrkdwn"):
            text = node.get("text")
            if isinstance(text, str):
                return len(text)
        for value in node.values():
            if isinstance(value, _NESTED):
                size += _text_size(value)
    elif isinstance(node, list | tuple):
        for item in node:
            if isinstance(item, _NESTED):
                size += _text_size(item)
    return size


def block_text_size(blocks: Sequence[Block]) -> int:
    """Characters of text in all blocks together, as Slack counts them for the size limit."""
    return sum(_text_size(block) for block in blocks)


def _copy(node: Any) -> Any:
    """A deep copy of JSON-like blocks (dicts, lists, tuples of plain values): what fit_blocks
    may change is then its own, at a fraction of copy.deepcopy's cost. Plain values are taken
    as they are, without a call each."""
    if isinstance(node, dict):
        return {
            key: _copy(value) if isinstance(value, _NESTED) else value
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_copy(item) if isinstance(item, _NESTED) else item for item in node]
    if isinstance(node, tuple):
        return tuple(_copy(item) if isinstance(item, _NESTED) else item for item in node)
    return node


def fit_text(text: str, limit: int = MAX_FALLBACK_TEXT) -> str:
    """The top-level fallback text, cut to fit."""
    return cut_mrkdwn(text, limit)


def _cut_obj(obj: dict[str, Any] | None, limit: int) -> None:
    if isinstance(obj, dict) and isinstance(obj.get("text"), str):
        obj["text"] = cut_mrkdwn(obj["text"], limit) or ELLIPSIS


def _fit_button(element: dict[str, Any]) -> bool:
    """Cut the label; False when the button cannot be kept (value or action id too long)."""
    if element.get("type") != "button":
        return True
    _cut_obj(element.get("text"), MAX_BUTTON_TEXT)
    value = element.get("value")
    if isinstance(value, str) and len(value) > MAX_BUTTON_VALUE:
        return False
    action_id = element.get("action_id")
    return not (isinstance(action_id, str) and len(action_id) > MAX_ACTION_ID)


def _fit_block(block: Block) -> Block | None:
    """One block within its own limits; None when nothing of it can be kept."""
    kind = block.get("type")
    if isinstance(block.get("block_id"), str) and len(block["block_id"]) > MAX_BLOCK_ID:
        del block["block_id"]
    if kind == "header":
        _cut_obj(block.get("text"), MAX_HEADER_TEXT)
    elif kind == "section":
        _cut_obj(block.get("text"), MAX_SECTION_TEXT)
        if isinstance(block.get("fields"), list):
            block["fields"] = block["fields"][:MAX_FIELDS]
            for field in block["fields"]:
                _cut_obj(field, MAX_FIELD_TEXT)
        accessory = block.get("accessory")
        if isinstance(accessory, dict) and not _fit_button(accessory):
            del block["accessory"]
        if not block.get("text") and not block.get("fields"):
            return None
    elif kind == "context":
        elements = list(block.get("elements") or [])[:MAX_CONTEXT_ELEMENTS]
        for element in elements:
            _cut_obj(element, MAX_CONTEXT_TEXT)
        if not elements:
            return None
        block["elements"] = elements
    elif kind == "actions":
        elements = [e for e in block.get("elements") or [] if _fit_button(e)]
        block["elements"] = elements[:MAX_ACTIONS_ELEMENTS]
        if not block["elements"]:
            return None
    return block


def _tail_start(blocks: list[Block]) -> int:
    """Index where the trailing run of context/actions/divider blocks starts (kept last)."""
    start = len(blocks)
    while start > 1 and blocks[start - 1].get("type") in ("context", "actions", "divider"):
        start -= 1
    return start


def _head_end(blocks: list[Block]) -> int:
    return 1 if blocks and blocks[0].get("type") == "header" else 0


def _omitted_note(count: int) -> Block:
    return {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"_…and {count} more not shown: the message would be too long for Slack._",
                "verbatim": True,
            }
        ],
    }


def _cuttable(block: Block) -> list[Any]:
    """Text objects that may be shortened to save room: section texts, fields, context."""
    if block.get("type") == "section":
        return [block.get("text"), *(block.get("fields") or [])]
    if block.get("type") == "context":
        return list(block.get("elements") or [])
    return []


def _cap_longest(blocks: list[Block], target: int) -> bool:
    """Cut the longest cuttable texts to one cap so the total meets `target`; False if it can't."""
    objs = [
        obj
        for b in blocks
        for obj in _cuttable(b)
        if isinstance(obj, dict) and isinstance(obj.get("text"), str)
    ]
    total = block_text_size(blocks)
    fixed = total - sum(len(o["text"]) for o in objs)

    def size_with(cap: int) -> int:
        return fixed + sum(min(len(o["text"]), cap) for o in objs)

    longest = max((len(o["text"]) for o in objs), default=0)
    if longest <= _MIN_SECTION:
        return False
    if size_with(_MIN_SECTION) > target:
        cap = _MIN_SECTION
    else:
        low, high = _MIN_SECTION, longest  # size_with(low) <= target < size_with(high)
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (mid, high) if size_with(mid) <= target else (low, mid)
        cap = low
    for obj in objs:
        if len(obj["text"]) > cap:
            _cut_obj(obj, cap)
    return block_text_size(blocks) <= target


def fit_blocks(blocks: Sequence[Block], *, budget: int = TEXT_BUDGET) -> tuple[Block, ...]:
    """A copy of `blocks` within every Block Kit limit and within `budget` chars of text."""
    copies = (_copy(block if type(block) is dict else dict(block)) for block in blocks)
    fitted = [b for b in (_fit_block(copy) for copy in copies) if b]
    dropped = 0

    def drop_one() -> bool:
        nonlocal dropped
        head, tail = _head_end(fitted), _tail_start(fitted)
        if tail <= head:
            return False
        del fitted[tail - 1]
        dropped += 1
        return True

    while len(fitted) > MAX_BLOCKS - 1 and drop_one():
        pass
    # Cut the longest texts to a common cap (long ones lose most, short ones nothing), down to
    # a floor; when even that is too much, drop content blocks and try again.
    target = budget - 200
    size = block_text_size(fitted)
    while size > target:
        if not _cap_longest(fitted, target) and not drop_one():
            break
        size = block_text_size(fitted)
    if dropped:
        fitted.insert(_tail_start(fitted), _omitted_note(dropped))
        size = block_text_size(fitted)
    # Last resort (e.g. a header and dozens of buttons only): drop blocks from the end.
    while size > budget and len(fitted) > 1:
        fitted.pop()
        size = block_text_size(fitted)
    return tuple(fitted[:MAX_BLOCKS])
