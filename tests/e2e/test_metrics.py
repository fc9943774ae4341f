"""/metrics from outside: the Procfile's web process and worker, scraped over HTTP and parsed
with prometheus_client's own parser; the worker's /healthz on METRICS_PORT."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.demo.api_server import DemoApiServer
from bot.notify.store import Store
from tests.e2e.conftest import RecordingSlack, Workers, free_port, running_web

pytestmark = pytest.mark.slow

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _scrape(url: str) -> Samples:
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def _wait(predicate: object, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} not within {timeout:.0f} s"
        time.sleep(0.1)


@pytest.fixture
def slack() -> Iterator[RecordingSlack]:
    fake = RecordingSlack()
    with fake:
        yield fake


def test_the_web_process_and_the_worker_serve_metrics(
    slack: RecordingSlack, tmp_path: Path
) -> None:
    metrics_port = free_port()
    with DemoApiServer() as demo, running_web(
        demo, slack, tmp_path, POLL_INTERVAL_SECONDS="1", CACHE_TTL_SECONDS="1",
        METRICS_PORT=str(metrics_port),
    ) as web:
        for _ in range(3):
            web.ask("open")
        web_samples = _scrape(f"{web.url}/metrics")
        assert _value(web_samples, "releases_bot_ack_seconds_count") >= 3
        assert _value(web_samples, "releases_bot_command_seconds_count") >= 3
        assert _value(web_samples, "releases_bot_cache_lookups_total", outcome="hits") >= 1
        assert _value(web_samples, "releases_bot_cache_lookups_total", outcome="misses") >= 1
        assert _value(web_samples, "releases_bot_upstream_responses_total", status="200") >= 1
        assert _value(web_samples, "releases_bot_upstream_seconds_count") >= 1

        with Store.from_url(web.env["DATABASE_URL"]) as store:
            store.subscriptions.add_change(team_id="T1", channel_id="C1", filters="open",
                                           created_by="U1")
        slack.script.channel_errors["C1"] = "msg_too_long"
        workers = Workers(web.env, tmp_path)
        try:
            workers.start()
            base = f"http://127.0.0.1:{metrics_port}"
            _wait(lambda: _healthy(base), "the worker's /healthz")
            # /healthz answers 200 from the start; a change made before the first round
            # would only be part of the baseline, so wait for that round.
            _wait(lambda: _value(_scrape(f"{base}/metrics"),
                                 "releases_bot_worker_last_successful_round_timestamp_seconds")
                  > 0, "the worker's first round")
            demo.data.close(next(r.id for r in demo.data.releases()
                                 if not r.closed and not r.deleted))
            _wait(lambda: _value(_scrape(f"{base}/metrics"),
                                 "releases_bot_delivery_failures_total",
                                 error="msg_too_long") >= 1, "a counted delivery failure")
            samples = _scrape(f"{base}/metrics")
            assert _value(samples, "releases_bot_worker_leader") == 1
            assert _value(samples,
                          "releases_bot_worker_last_successful_round_timestamp_seconds") > (
                time.time() - 60)
            assert ("releases_bot_outbox_pending", ()) in samples
            assert ("releases_bot_outbox_oldest_pending_age_seconds", ()) in samples
            assert _value(samples, "releases_bot_upstream_responses_total", status="200") >= 1
            assert ("releases_bot_cache_lookups_total", (("outcome", "stale"),)) in samples
        finally:
            workers.stop_all()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
