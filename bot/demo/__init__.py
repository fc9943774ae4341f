"""The built-in demo: a local MetaKraftwerk Releases API with sample data."""

from bot.demo.api_server import DEMO_EMAIL, DEMO_PASSWORD, DEMO_TOKEN, DemoApiServer
from bot.demo.data import DemoData, DemoDataError
from bot.demo.faults import RequestCounts, Switches

__all__ = [
    "DEMO_EMAIL",
    "DEMO_PASSWORD",
    "DEMO_TOKEN",
    "DemoApiServer",
    "DemoData",
    "DemoDataError",
    "RequestCounts",
    "Switches",
]
