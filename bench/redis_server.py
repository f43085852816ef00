"""A Redis of the benchmark's own, and what Redis did for a number of requests.

"Each cached read costs at most one Redis round trip" is checked on the server's side: Redis
counts, for all its clients together, the commands it ran (`INFO commandstats`,
`total_commands_processed`) and the read events it handled on client sockets
(`total_reads_processed`): a client that sends its commands in one pipeline and waits for the
answers costs one read event, one more for each time it waits on an answer before sending
again. Those counters are the whole server's, so they are exact only on a server nobody else
uses: `run.py --production` starts one (`redis-server` on a free port, nothing saved to
disk) unless it is given `--redis URL`.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from servers import Server, ServerError, free_port, running

REDIS_SERVER = "redis-server"


def missing() -> str | None:
    if shutil.which(REDIS_SERVER) is None:
        return "redis-server is missing (--production starts one): apt-get install -y redis-server"
    return None


@contextmanager
def own_redis(workdir: Path) -> Iterator[str]:
    """A fresh redis-server on a free loopback port for as long as the block runs; its URL."""
    port = free_port()
    directory = workdir / "redis"
    directory.mkdir()
    server = Server(
        "Redis",
        [
            REDIS_SERVER,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        env={},
        cwd=directory,
        log_path=directory / "redis.log",
    )
    url = f"redis://127.0.0.1:{port}/0"
    with running(server):
        _wait_ready(server, url)
        yield url


def _wait_ready(server: Server, url: str, timeout: float = 20.0) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise ServerError(f"redis-server exited while starting:\n{server.log_tail()}")
        try:
            if client.ping():
                client.close()
                return
        except redis.RedisError:
            time.sleep(0.1)
    raise ServerError(f"redis-server did not answer on {url} in {timeout:.0f}s")


def version(url: str) -> str:
    import redis

    # redis-py's answers are typed for its sync and async clients at once.
    client: Any = redis.Redis.from_url(url, socket_timeout=5)
    try:
        return str(client.info("server").get("redis_version", "unknown"))
    finally:
        client.close()


@dataclass(frozen=True)
class _Counters:
    commands: int
    reads: int
    connections: int
    by_command: dict[str, int]

    def minus(self, other: _Counters) -> _Counters:
        names = self.by_command.keys() | other.by_command.keys()
        return _Counters(
            self.commands - other.commands,
            self.reads - other.reads,
            self.connections - other.connections,
            {
                name: n
                for name in sorted(names)
                if (n := self.by_command.get(name, 0) - other.by_command.get(name, 0))
            },
        )


def _counters(client: Any) -> _Counters:
    stats = client.info("stats")
    commands = client.info("commandstats")
    return _Counters(
        commands=int(stats["total_commands_processed"]),
        reads=int(stats["total_reads_processed"]),
        connections=int(stats["total_connections_received"]),
        by_command={
            name.removeprefix("cmdstat_"): int(value["calls"]) for name, value in commands.items()
        },
    )


@dataclass(frozen=True)
class RedisCount:
    """What Redis did while `requests` requests were answered one after another."""

    requests: int
    statuses: dict[str, int]
    commands: int
    reads: int  # read events on client sockets: round trips
    connections: int
    by_command: dict[str, int]
    shared: bool  # others may have used the server meanwhile: an upper bound

    @property
    def round_trips(self) -> float:
        return self.reads / self.requests if self.requests else 0.0

    @property
    def commands_per_request(self) -> float:
        return self.commands / self.requests if self.requests else 0.0

    def summary(self) -> dict[str, Any]:
        return asdict(self) | {
            "round_trips_per_request": self.round_trips,
            "commands_per_request": self.commands_per_request,
        }


def count(url: str, send: Callable[[int], int], requests: int, *, shared: bool) -> RedisCount:
    """Redis's counters around `requests` calls of `send(i)` (which returns a status).

    Reading the counters is itself a command on a connection of its own; what two readings
    with nothing in between cost is taken off.
    """
    import redis

    client: Any = redis.Redis.from_url(url, socket_timeout=10)
    try:
        first = _counters(client)
        second = _counters(client)
        statuses: dict[str, int] = {}
        for i in range(requests):
            status = str(send(i))
            statuses[status] = statuses.get(status, 0) + 1
        third = _counters(client)
    finally:
        client.close()
    asking = second.minus(first)
    done = third.minus(second).minus(asking)
    return RedisCount(
        requests=requests,
        statuses=statuses,
        commands=done.commands,
        reads=done.reads,
        connections=done.connections,
        by_command=done.by_command,
        shared=shared,
    )
