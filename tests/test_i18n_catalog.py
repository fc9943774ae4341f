"""The catalogs: every message the code marks is in the template and has a German
translation that is neither missing, fuzzy nor different in its placeholders; the template
is what extraction makes of today's code (README: "Translations")."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.i18n import texts_for
from bot.i18n.catalog import catalog_path

ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _extracted() -> set[str]:
    found = set()
    method_map = [("bot/**.py", "python")]
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def _catalog(path: Path, locale: str | None = None):  # type: ignore[no-untyped-def]
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def test_the_template_holds_every_marked_message_and_nothing_else() -> None:
    template = _catalog(ROOT / "bot" / "locale" / "messages.pot")
    ids = {m.id[0] if isinstance(m.id, tuple) else m.id for m in template if m.id}
    extracted = _extracted()
    assert sorted(extracted - ids) == [], "re-extract the template (README: Translations)"
    assert sorted(ids - extracted) == [], "the template holds messages the code no longer has"


def test_every_german_translation_is_there_and_keeps_its_placeholders() -> None:
    german = _catalog(catalog_path("de", ".po"), "de")
    extracted = _extracted()
    problems = []
    ids = set()
    for message in german:
        if not message.id:
            continue
        ids.add(message.id[0] if isinstance(message.id, tuple) else message.id)
        sources = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            problems.append(f"untranslated or fuzzy: {sources[0]!r}")
            continue
        wanted = set(PLACEHOLDER.findall(sources[0]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"placeholders differ: {sources[0]!r} -> {string!r}")
    problems += [f"missing in de: {m!r}" for m in sorted(extracted - ids)]
    assert problems == []


def test_german_texts_load_from_the_source_tree_and_english_is_the_msgids() -> None:
    assert texts_for("de")._("Open releases") == "Offene Releases"
    assert texts_for("en")._("Open releases") == "Open releases"
    assert texts_for("xx").language == "en"
    german = texts_for("de")
    assert german.ngettext("{count} release", "{count} releases", 1) == "1 Release"
    assert german.ngettext("{count} release", "{count} releases", 1234) == "1.234 Releases"
