"""Compiles the message catalogs (`bot/locale/*/LC_MESSAGES/*.po`) into `.mo` files at build.

Everything else about the package is in pyproject.toml. The `.mo` files are build output:
they go into the built package only, never into the source tree or the repository. An
editable install has none and reads the `.po` files instead (bot/i18n/catalog.py).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithCatalogs(build_py):
    """build_py, then every `.po` under bot/locale compiled into the build directory."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # the source tree is imported as it is: the `.po` files are read there
        from babel.messages.mofile import write_mo
        from babel.messages.pofile import read_po

        for source in sorted(Path("bot/locale").glob("*/LC_MESSAGES/*.po")):
            target = Path(self.build_lib) / source.with_suffix(".mo")
            target.parent.mkdir(parents=True, exist_ok=True)
            with source.open("rb") as handle:
                catalog = read_po(handle, locale=source.parts[2])
            with target.open("wb") as out:
                write_mo(out, catalog)


setup(cmdclass={"build_py": BuildWithCatalogs})
