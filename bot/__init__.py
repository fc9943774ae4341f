"""releases-bot: MetaKraftwerk releases in Slack."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("releases-bot")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
