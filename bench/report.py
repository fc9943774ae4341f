"""Figures of one benchmark run, and the Markdown table they are published as."""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load import Answered

BOT = "releases-bot"
BARE = "bare Bolt"

# bot / bare Bolt must stay at or below these (scheme, figure) ratios.
TARGETS: dict[tuple[str, str], float] = {
    ("https", "cpu"): 0.8,
    ("http", "cpu"): 1.1,
    ("https", "answer_p50"): 0.8,
}


@dataclass(frozen=True, slots=True)
class RunFigures:
    app: str
    scheme: str
    commands: int
    failed: int
    ack_p50: float | None  # milliseconds
    ack_p99: float | None
    answer_p50: float | None
    answer_p99: float | None
    cpu_ms_per_command: float
    upstream_calls: int
    answer_bytes: float | None


@dataclass(frozen=True, slots=True)
class SharedFigures:
    """Two web processes on one Redis; `skipped` says why the rows were not measured."""

    skipped: str | None = None
    cold_commands: int = 0
    cold_upstream_calls: int | None = None
    cold_most_repeated: int | None = None  # the same request asked this often
    cold_failed: int | None = None
    outage_commands: int = 0
    outage_failed: int | None = None


def percentile(values: Sequence[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def succeeded(a: Answered) -> bool:
    """Acked with 200 and answered with a listing (an error answer opens with a warning)."""
    if a.sample.status != 200 or a.body is None:
        return False
    blocks = a.body.get("blocks")
    return isinstance(blocks, list) and bool(blocks) and blocks[0].get("type") == "header"


def figures(
    app: str, scheme: str, answered: Sequence[Answered], cpu_seconds: float, upstream: int
) -> RunFigures:
    acks = [a.sample.ack * 1000 for a in answered if a.sample.ack is not None]
    answers = [a.answer * 1000 for a in answered if a.answer is not None]
    sizes = [float(a.size) for a in answered if a.size is not None]
    return RunFigures(
        app=app,
        scheme=scheme,
        commands=len(answered),
        failed=sum(not succeeded(a) for a in answered),
        ack_p50=percentile(acks, 50),
        ack_p99=percentile(acks, 99),
        answer_p50=percentile(answers, 50),
        answer_p99=percentile(answers, 99),
        cpu_ms_per_command=cpu_seconds * 1000 / max(len(answered), 1),
        upstream_calls=upstream,
        answer_bytes=statistics.median(sizes) if sizes else None,
    )


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} cores, {model}; {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.system()} {platform.release()}; "
        f"load average at start {load}"
    )


def _num(value: float | None, digits: int = 1) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _ratio(bot: float | None, bare: float | None) -> float | None:
    if bot is None or bare is None or bare == 0:
        return None
    return bot / bare


def _target(scheme: str, figure: str, ratio: float | None) -> str:
    limit = TARGETS.get((scheme, figure))
    if limit is None:
        return ""
    if ratio is None:
        return f"≤ {limit:g}: not measured"
    return f"≤ {limit:g}: {'met' if ratio <= limit else 'MISSED'}"


def scheme_table(scheme: str, bot: RunFigures, bare: RunFigures) -> list[str]:
    rows: list[tuple[str, str, float | None, float | None, int]] = [
        ("ack p50 (ms)", "ack_p50", bot.ack_p50, bare.ack_p50, 1),
        ("ack p99 (ms)", "ack_p99", bot.ack_p99, bare.ack_p99, 1),
        ("answer p50 (ms)", "answer_p50", bot.answer_p50, bare.answer_p50, 1),
        ("answer p99 (ms)", "answer_p99", bot.answer_p99, bare.answer_p99, 1),
        ("server CPU per command (ms)", "cpu", bot.cpu_ms_per_command, bare.cpu_ms_per_command, 2),
        ("upstream API calls per burst", "upstream", bot.upstream_calls, bare.upstream_calls, 0),
        ("failed commands", "failed", bot.failed, bare.failed, 0),
        ("answer size (bytes, median)", "size", bot.answer_bytes, bare.answer_bytes, 0),
    ]
    lines = [
        f"### response_url over {scheme.upper()}",
        "",
        f"| figure | {BOT} | {BARE} | {BOT} / {BARE} | target |",
        "|---|---:|---:|---:|---|",
    ]
    for label, key, ours, floor, digits in rows:
        ratio = _ratio(ours, floor)
        lines.append(
            f"| {label} | {_num(ours, digits)} | {_num(floor, digits)} | {_num(ratio, 2)} "
            f"| {_target(scheme, key, ratio)} |"
        )
    return lines


def shared_table(shared: SharedFigures) -> list[str]:
    lines = ["### two web processes sharing Redis (CACHE_URL)", ""]
    if shared.skipped is not None:
        return [*lines, f"Not measured: {shared.skipped}."]
    return [
        *lines,
        "| figure | measured | target |",
        "|---|---:|---|",
        f"| upstream API calls for {shared.cold_commands} identical cold commands "
        f"| {_num(shared.cold_upstream_calls, 0)} | |",
        f"| most times one of those calls was made "
        f"| {_num(shared.cold_most_repeated, 0)} | exactly 1: "
        f"{'met' if shared.cold_most_repeated == 1 else 'MISSED'} |",
        f"| failed of those {shared.cold_commands} | {_num(shared.cold_failed, 0)} | 0 |",
        f"| failed of {shared.outage_commands} commands, Redis stopped mid-run "
        f"| {_num(shared.outage_failed, 0)} "
        f"| 0: {'met' if shared.outage_failed == 0 else 'MISSED'} |",
    ]


def render(
    *,
    date: str,
    machine_line: str,
    server_line: str,
    settings_line: str,
    runs: dict[str, tuple[RunFigures, RunFigures]],
    shared: SharedFigures,
    notes: Sequence[str] = (),
) -> str:
    lines = [
        f"# Web benchmark {date}",
        "",
        f"- machine: {machine_line}",
        f"- server: {server_line}",
        f"- run: {settings_line}",
        "",
    ]
    for scheme, (bot, bare) in runs.items():
        lines += [*scheme_table(scheme, bot, bare), ""]
    lines += [*shared_table(shared), ""]
    if notes:
        lines += ["Notes:", "", *(f"- {n}" for n in notes), ""]
    return "\n".join(lines)
