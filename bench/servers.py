"""Starting and stopping the servers under test, and single HTTP requests to them.

Each server runs in its own process group (a new session), so stopping it also stops the
gunicorn workers it forked, and a Ctrl-C in the terminal reaches only this script, whose
`finally` blocks then stop the servers in order.
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

STOP_GRACE_SECONDS = 10.0


class ServerError(RuntimeError):
    """A server did not start, or died while being measured."""


def free_port() -> int:
    """A port the kernel just handed out; free unless something grabs it in the next moment."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes  # as sent: still compressed when Content-Encoding says so
    header_bytes: int  # status line and headers as they crossed the wire (approximately)
    seconds: float

    @property
    def wire_bytes(self) -> int:
        return self.header_bytes + len(self.body)


def request(
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 30.0,
) -> Response:
    """One request without any decoding, so sizes are what the server put on the wire.

    http.client rather than urllib: urllib would follow redirects and raise on 4xx.
    """
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    seconds = time.perf_counter() - started
    status_line = f"HTTP/1.1 {resp.status} {resp.reason}\r\n"
    header_bytes = len(status_line) + sum(len(k) + len(v) + 4 for k, v in resp.getheaders()) + 2
    return Response(
        status=resp.status,
        headers={k.lower(): v for k, v in resp.getheaders()},
        body=data,
        header_bytes=header_bytes,
        seconds=seconds,
    )


class Server:
    """A process group started from `argv`, with its output in `log_path`."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        *,
        env: Mapping[str, str],
        cwd: Path,
        log_path: Path,
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = dict(env)
        self.cwd = cwd
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(  # noqa: S603 - argv built by this script
                self.argv,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pgid(self) -> int | None:
        # start_new_session: the leader's pid is the group id of every worker it forks.
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """SIGTERM to the whole group (gunicorn's graceful stop), SIGKILL if it lingers."""
        if self.proc is None:
            return
        pgid = self.proc.pid  # start_new_session: the leader's pid is the group id
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=STOP_GRACE_SECONDS)
        # Workers can outlive a master killed hard; sweep the group whatever happened.
        with suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        if self.proc.poll() is None:
            self.proc.wait(timeout=STOP_GRACE_SECONDS)
        self.proc = None

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(
        self, url: str, headers: Mapping[str, str] | None = None, timeout: float = 60.0
    ) -> None:
        """Poll `url` until it answers 200; fail early if the process died."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if not self.alive():
                raise ServerError(f"{self.name} exited while starting:\n{self.log_tail()}")
            try:
                resp = request("GET", url, headers=headers, timeout=5)
                if resp.status == 200:
                    return
                last = f"HTTP {resp.status}: {resp.body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise ServerError(f"{self.name} did not answer {url} in {timeout:.0f}s ({last})")

    def wait_quiet(
        self,
        url: str,
        headers: Mapping[str, str] | None = None,
        *,
        quick: float = 0.05,
        timeout: float = 180.0,
    ) -> float:
        """Wait until a cheap request is answered quickly twice in a row; returns the wait.

        wrk stops sending when its time is up, but a sync gunicorn worker still has every
        request that queued in the listen backlog to answer; measuring the next workload
        before they drain would charge it for the previous one.
        """
        started = time.monotonic()
        fast_in_a_row = 0
        while fast_in_a_row < 2:
            if not self.alive():
                raise ServerError(f"{self.name} died:\n{self.log_tail()}")
            if time.monotonic() - started > timeout:
                raise ServerError(f"{self.name} stayed slow for {timeout:.0f}s after a workload")
            try:
                resp = request("GET", url, headers=headers, timeout=30)
                fast_in_a_row = fast_in_a_row + 1 if resp.seconds < quick else 0
            except OSError:
                fast_in_a_row = 0
            if fast_in_a_row < 2:
                time.sleep(0.1)
        return time.monotonic() - started


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """The server started, and stopped however the block ends (error, Ctrl-C, SIGTERM)."""
    try:
        server.start()
        yield server
    finally:
        server.stop()
