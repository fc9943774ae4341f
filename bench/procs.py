"""Server processes for a benchmark: started in their own session, measured, stopped.

CPU is read from /proc/PID/stat (utime + stime) of the whole process tree, so a server that
forks workers (gunicorn) is measured with its workers, and one that does not is measured alike.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


class ServerError(RuntimeError):
    """A server did not come up or did not go down; the message carries its log's tail."""


@dataclass
class ServerProcess:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log(self, tail: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-tail:]
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        """User plus system CPU of the server and every process below it, so far."""
        return sum(_cpu_ticks(pid) for pid in _tree(self.proc.pid)) / CLOCK_TICKS

    def stop(self) -> None:
        """SIGTERM as a platform sends it; SIGKILL for the whole group if that is ignored."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # stray workers, if any


def start_server(
    name: str,
    argv: Sequence[str],
    env: dict[str, str],
    *,
    port: int,
    ready_path: str,
    workdir: Path,
    ready_status: int | None = None,
) -> ServerProcess:
    """Start `argv` and wait until GET `ready_path` answers (`ready_status`, or any status)."""
    log_path = workdir / f"{name}.log"
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            list(argv),
            cwd=workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ServerProcess(name, f"http://127.0.0.1:{port}", proc, log_path)
    try:
        _wait_ready(server, ready_path, ready_status)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: ServerProcess, path: str, status: int | None) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    last = "no answer"
    with httpx.Client(timeout=1) as http:
        while time.monotonic() < deadline:
            if server.proc.poll() is not None:
                raise ServerError(
                    f"{server.name} exited with {server.proc.returncode} before it was ready\n"
                    f"{server.log()}"
                )
            try:
                response = http.get(f"{server.url}{path}")
            except httpx.TransportError as exc:
                last = repr(exc)
            else:
                if status is None or response.status_code == status:
                    return
                last = f"HTTP {response.status_code}"
            time.sleep(0.1)
    raise ServerError(
        f"{server.name} not ready within {START_TIMEOUT:.0f} s ({last})\n{server.log()}"
    )


def _tree(root: int) -> list[int]:
    """`root` and its descendants, from /proc/PID/task/TID/children."""
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{pid}/task"):
                with contextlib.suppress(OSError):
                    children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    todo.extend(int(c) for c in children)
    return pids


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # The command name (field 2) may hold spaces; the fields after its ')' are fixed.
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
