"""Loading a language's catalog: the compiled `.mo` an install built, else its `.po` source.

`pip install .` compiles every `.po` into a `.mo` beside it (setup.py); an editable install
runs from the source tree, where no `.mo` exists (none is committed), so the `.po` is read
and compiled in memory with Babel instead. Either way the same translations load.
"""

from __future__ import annotations

import gettext
import io
import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
DOMAIN = "messages"


def catalog_path(language: str, suffix: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}{suffix}"


def load_catalog(language: str) -> gettext.NullTranslations:
    """The translations of `language`; the msgids themselves for English or a missing one."""
    compiled = catalog_path(language, ".mo")
    if compiled.is_file():
        with compiled.open("rb") as handle:
            return Translations(handle, domain=DOMAIN)
    source = catalog_path(language, ".po")
    if not source.is_file():
        return gettext.NullTranslations()
    with source.open("rb") as handle:
        catalog = read_po(handle, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)
