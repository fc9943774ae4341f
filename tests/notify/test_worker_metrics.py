"""The worker's operational signals: the outbox depth read for /metrics, and its /healthz
failing once no round succeeded for HEALTHY_ROUNDS poll intervals."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from bot.metrics import Metrics
from bot.metrics_http import HEALTHY_ROUNDS, MetricsServer, WorkerHealth
from bot.notify.records import NewDelivery
from bot.notify.store import Store
from tests.fakes.clock import FakeClock
from tests.notify.support import T0


def test_the_outbox_depth_counts_pending_rows_and_dates_the_oldest(
    store: Store, clock: FakeClock
) -> None:
    assert store.worker_status.outbox_depth() == (0, None)
    sub = store.subscriptions.add_change(team_id="T1", channel_id="C1", filters="open",
                                         created_by="U1")
    row = NewDelivery(subscription_id=sub.id, team_id="T1", channel_id="C1", kind="closed",
                      payload={}, release_id=1)
    (first,) = store.outbox.commit_poll({}, [row])
    clock.advance(timedelta(minutes=5))
    store.outbox.commit_poll({}, [row])
    store.outbox.mark_sent(first, "1.0")
    count, oldest = store.worker_status.outbox_depth()
    assert count == 1
    assert oldest == T0 + timedelta(minutes=5)


def test_the_workers_healthz_fails_after_five_intervals_without_a_good_round() -> None:
    clock = FakeClock()
    metrics = Metrics(CollectorRegistry(), clock=clock)
    health = WorkerHealth(metrics, interval=10, clock=clock)
    server = MetricsServer(metrics, health, 0, host="127.0.0.1").start()
    base = f"http://127.0.0.1:{server.port}"
    try:
        assert httpx.get(f"{base}/healthz").status_code == 200  # starting: grace
        clock.advance(HEALTHY_ROUNDS * 10 + 1)
        failing = httpx.get(f"{base}/healthz")
        assert failing.status_code == 503
        assert failing.json()["status"] == "error"
        metrics.round_done(leader=True)
        assert httpx.get(f"{base}/healthz").status_code == 200
        clock.advance(HEALTHY_ROUNDS * 10 - 1)
        metrics.round_failed(leader=True)  # a failed round does not count as one
        assert httpx.get(f"{base}/healthz").status_code == 200
        clock.advance(2)
        assert httpx.get(f"{base}/healthz").status_code == 503
        scraped = httpx.get(f"{base}/metrics").text
        names = {f.name for f in text_string_to_metric_families(scraped)}
        assert "releases_bot_worker_leader" in names
        assert httpx.get(f"{base}/other").status_code == 404
    finally:
        server.close()
