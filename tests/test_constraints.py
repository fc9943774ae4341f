"""constraints.txt pins every package the project installs, and this environment runs those pins.

A range in pyproject.toml admits tomorrow's release; the pins make a fresh clone install what CI
ran. These fail when a new dependency is added without updating the lock (`.ci/lock`), when a pin
falls outside the range pyproject.toml admits, or when pip was run without the constraints.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


def _pins() -> dict[str, Version]:
    pins: dict[str, Version] = {}
    for line in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        assert version, f"constraints.txt: {line!r} is not pinned with =="
        pins[canonicalize_name(name)] = Version(version)
    return pins


def _requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    names = list(project["dependencies"]) + list(project["optional-dependencies"]["test"])
    return [Requirement(name) for name in names]


def test_every_requirement_is_pinned_within_its_range() -> None:
    pins = _pins()
    for requirement in _requirements():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement.name} is not in constraints.txt: run .ci/lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"constraints.txt pins {name}=={pins[name]}, outside {requirement}"
        )


def test_the_installed_packages_are_the_pinned_ones() -> None:
    wrong = []
    for name, pinned in _pins().items():
        try:
            installed = Version(metadata.version(name))
        except metadata.PackageNotFoundError:
            wrong.append(f"{name} is not installed")
            continue
        if installed != pinned:
            wrong.append(f"{name} {installed} is installed, constraints.txt pins {pinned}")
    assert not wrong, "install with `pip install -c constraints.txt`: " + "; ".join(wrong)
