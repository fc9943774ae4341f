"""Side-by-side benchmark: name globs by backtracking (the old matcher) and by fnmatch + re.

Run: `.venv/bin/python -m tests.benchmarks.bench_glob [--releases 2000] [--length 100]`

The pattern bomb: 47 patterns like `*??????????????????????Z0` (as many as fit in one command
before the pattern limit existed), matched against `releases` names of `length` random
characters (a few match by chance, and every contender must find the same ones). Each
contender answers "does any pattern match this name?" for every name, in one process, one
after the other:
- backtracking: the hand-written `*`/`?` matcher the bot used before, pattern by pattern;
- regex, one per pattern: `glob_match` (`fnmatch.translate`, compiled once), pattern by pattern;
- regex, one set: `compile_globs` of all 47 patterns OR-ed, as `Query.matches` runs them.
It also times the most a command can ask for now (MAX_PATTERNS patterns, one set). It prints
the CPU seconds of each and the ratio to the backtracking matcher. Nothing here asserts a time;
tests/test_glob.py proves the answers equal.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import string
import time
from collections.abc import Callable, Sequence

from bot.query import MAX_PATTERNS
from bot.query.glob import compile_globs, glob_match

BOMB = tuple(f"*{'?' * 22}Z{i}" for i in range(47))


def backtracking_match(pattern: str, text: str) -> bool:
    """The matcher the bot used before: greedy with a return to the last `*` (O(p x t))."""
    p, t = pattern.casefold(), text.casefold()
    pi = ti = 0
    star, mark = -1, 0
    while ti < len(t):
        if pi < len(p) and p[pi] == "*":
            star, mark = pi, ti
            pi += 1
        elif pi < len(p) and (p[pi] == "?" or p[pi] == t[ti]):
            pi += 1
            ti += 1
        elif star >= 0:
            pi = star + 1
            mark += 1
            ti = mark
        else:
            return False
    while pi < len(p) and p[pi] == "*":
        pi += 1
    return pi == len(p)


def names(count: int, length: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    alphabet = string.ascii_letters + string.digits + "-_."
    return ["".join(rng.choice(alphabet) for _ in range(length)) for _ in range(count)]


def cpu_seconds(check: Callable[[str], bool], texts: Sequence[str]) -> tuple[float, int]:
    started = time.process_time()
    found = sum(1 for text in texts if check(text))
    return time.process_time() - started, found


def contenders(patterns: Sequence[str]) -> dict[str, Callable[[str], bool]]:
    compile_globs.cache_clear()
    as_set = compile_globs(tuple(patterns))
    return {
        "backtracking, per pattern": lambda n: any(backtracking_match(p, n) for p in patterns),
        "regex, per pattern": lambda n: any(glob_match(p, n) for p in patterns),
        "regex, one set": as_set.match,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--releases", type=int, default=2000)
    parser.add_argument("--length", type=int, default=100, help="characters per release name")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}, {platform.system()}"
    )
    texts = names(args.releases, args.length)
    print(
        f"\n{len(BOMB)} patterns like `{BOMB[0]}` over {len(texts)} names of "
        f"{args.length} characters"
    )
    results = {label: cpu_seconds(check, texts) for label, check in contenders(BOMB).items()}
    capped = compile_globs(BOMB[:MAX_PATTERNS])
    results[f"regex, one set of {MAX_PATTERNS} (the limit)"] = cpu_seconds(capped.match, texts)
    baseline = results["backtracking, per pattern"][0]
    print(f"  {'contender':36} {'CPU':>10} {'matches':>8} {'backtracking / this':>20}")
    for label, (seconds, found) in results.items():
        print(f"  {label:36} {seconds:8.3f} s {found:8d} {baseline / max(seconds, 1e-9):19.0f}x")


if __name__ == "__main__":
    main()
