"""Slack's text form of a value: quotes, `&amp;`-style entities and `<...>` markup.

The lexer reads this form and `Query.to_text()` writes it, so both share these rules.
"""

from __future__ import annotations

# Quote families: an opener of a family is closed by any character of the same family, since
# phones and macOS turn "x" into “x” (and sometimes ”x”).
DOUBLE_QUOTES = '"“”„‟″'
SINGLE_QUOTES = "'‘’‚‛"
QUOTES = DOUBLE_QUOTES + SINGLE_QUOTES
ENTITIES = (("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">"))


def quote_value(value: str) -> str:
    """A value as `to_text` writes it: bare when it reads back as-is, else in double quotes."""
    # A bare comma would split a name in two (`name:R59,R60`), so a name's own comma is quoted.
    if value and not any(ch.isspace() or ch in QUOTES or ch in "\\<>&," for ch in value):
        return value
    out: list[str] = []
    for i, ch in enumerate(value):
        if (
            ch == "\\"
            or ch in QUOTES
            or (ch == "&" and value.startswith(tuple(e for e, _ in ENTITIES), i))
        ):
            out.append("\\")
        out.append(ch)
    return '"' + "".join(out) + '"'


def unentity(text: str) -> str:
    for entity, char in ENTITIES[1:]:
        text = text.replace(entity, char)
    return text.replace("&amp;", "&")


def markup_label(inner: str) -> str:
    """What a `<...>` shows: the label after `|`, else the target without `mailto:`."""
    target, bar, label = inner.partition("|")
    if bar:
        return unentity(label)
    return unentity(target.removeprefix("mailto:"))


def markup_display(inner: str) -> str:
    """How Slack shows a mention or channel: `#general`, `@alice`."""
    label = markup_label(inner)
    if inner.startswith("#") and "|" in inner:
        return "#" + label
    if inner.startswith(("@", "!subteam")) and "|" in inner:
        return "@" + label.lstrip("@")
    return f"<{inner}>"
