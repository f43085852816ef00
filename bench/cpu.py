"""How much of the machine went to something other than the benchmark while it ran.

On two cores, a test suite or a browser running next to the benchmark halves its numbers.
Comparing the machine's busy time (/proc/stat) with the CPU time of the benchmark's own
processes (the server's process group, the database server, wrk) shows when that happened,
so a polluted run is flagged instead of published.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Snapshot:
    busy: int  # machine-wide, in clock ticks summed over all cores
    total: int
    ours: int  # the benchmark's processes, in clock ticks


def _machine() -> tuple[int, int]:
    # cpu  user nice system idle iowait irq softirq steal ...
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    total = sum(fields)
    return total - fields[3] - fields[4], total


def _other_database(pid: str, database: str) -> bool:
    """A PostgreSQL backend serving another database (say, a test suite next to us).

    Backends title themselves `postgres: [CLUSTER:] USER DATABASE HOST(PORT) STATE`; the
    server's own helpers (checkpointer, WAL writer, autovacuum) serve everyone and count as
    ours.
    """
    try:
        title = Path("/proc", pid, "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (OSError, UnicodeDecodeError):
        return False
    words = title.split()
    for i, word in enumerate(words):
        if i >= 2 and ((word.endswith(")") and "(" in word) or word == "[local]"):
            return words[i - 1] != database
    return False


def proc_stats() -> Iterator[tuple[int, str, list[str]]]:
    """Every process's pid, command name and the fields of /proc/PID/stat after the name
    (`rest[0]` is its state, `rest[1]` its parent, `rest[2]` its process group)."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name may hold spaces and parentheses: split around the last ')'.
        yield (
            int(entry.name),
            stat[stat.index("(") + 1 : stat.rindex(")")],
            stat[stat.rindex(")") + 2 :].split(),
        )


def _processes(pgids: set[int], names: set[str], database: str | None) -> int:
    ticks = 0
    for pid, comm, rest in proc_stats():
        pgrp, utime, stime = int(rest[2]), int(rest[11]), int(rest[12])
        if pgrp in pgids:
            # With the children it has reaped: gunicorn recycles workers (max_requests), and
            # a worker that exited takes its CPU time out of /proc into its master's.
            ticks += utime + stime + int(rest[13]) + int(rest[14])
        elif comm in names and not (
            comm == "postgres" and database and _other_database(str(pid), database)
        ):
            ticks += utime + stime
    return ticks


def _children() -> int:
    """wrk's CPU time: it runs as our child, and is counted once it has been waited for."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round((usage.ru_utime + usage.ru_stime) * TICKS)


def snapshot(
    pgids: Iterable[int], names: Iterable[str] = (), database: str | None = None
) -> Snapshot:
    """`names`: other servers the benchmark drives, counted as its own; of PostgreSQL's
    backends, only those serving `database`."""
    busy, total = _machine()
    return Snapshot(busy, total, _processes(set(pgids), set(names), database) + _children())


def other_share(before: Snapshot, after: Snapshot) -> float:
    """Percent of the machine's capacity used by other processes between two snapshots."""
    total = after.total - before.total
    if total <= 0:
        return 0.0
    others = (after.busy - before.busy) - (after.ours - before.ours)
    return max(0.0, 100.0 * others / total)


def idle_share(seconds: float = 2.0) -> float:
    """Percent of the machine that is idle right now, measured over `seconds`."""
    busy0, total0 = _machine()
    time.sleep(seconds)
    busy1, total1 = _machine()
    total = total1 - total0
    return 100.0 * (1 - (busy1 - busy0) / total) if total > 0 else 100.0


def calibrate() -> float:
    """Milliseconds for a fixed piece of pure-Python work, best of three.

    In a virtual machine the host can slow every process alike, which shows neither as load
    nor as steal time; this number is how a run's speed can be compared with another's.
    """

    def once() -> float:
        started = time.perf_counter()
        x = 0
        for i in range(1_000_000):
            x += i * i % 7
        return (time.perf_counter() - started) * 1000

    return min(once() for _ in range(3))
