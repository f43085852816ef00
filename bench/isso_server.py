"""Isso 0.14, the comparison: its own venv, a config file, seeding through its HTTP API.

Isso is seeded through `POST /new`, one comment at a time, so only the 100-comment thread
and the 50 listed posts go in; the plan is the same one Afterword is seeded from.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import time
from pathlib import Path

from plan import ORIGIN, Plan, PlannedComment, count_path, thread_path
from servers import request

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".isso-venv"
ISSO_THREAD_SIZE = 100
INSTALL_HINT = (
    "python3 -m venv bench/.isso-venv && bench/.isso-venv/bin/pip install 'isso==0.14.*' gunicorn"
)


class IssoError(RuntimeError):
    """Isso is missing or refused a seeding request."""


def missing() -> str | None:
    """Why Isso cannot run, or None when its venv is ready."""
    python = VENV / "bin" / "python"
    if not python.exists() or not (VENV / "bin" / "gunicorn").exists():
        return f"Isso's venv is missing: {INSTALL_HINT}  (or pass --skip-isso)"
    done = subprocess.run(  # noqa: S603 - fixed argv
        [str(python), "-c", "import isso; print(isso.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0 or not done.stdout.startswith("0.14"):
        return f"bench/.isso-venv does not hold Isso 0.14: {INSTALL_HINT}"
    return None


def version() -> str:
    done = subprocess.run(  # noqa: S603 - fixed argv
        [str(VENV / "bin" / "python"), "-c", "import isso; print(isso.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def write_config(workdir: Path, port: int) -> Path:
    """Moderation and the guard off: the guard's rate limit would refuse the seeding posts."""
    path = workdir / "isso.cfg"
    path.write_text(
        f"""[general]
dbpath = {workdir / "isso.db"}
host = {ORIGIN}
notify = stdout
gravatar = false

[moderation]
enabled = false

[guard]
enabled = false

[server]
listen = http://127.0.0.1:{port}
public-endpoint = http://127.0.0.1:{port}
"""
    )
    return path


def argv(port: int, gunicorn_flags: list[str]) -> list[str]:
    return [
        str(VENV / "bin" / "gunicorn"),
        "-w",
        "2",
        *gunicorn_flags,
        "-b",
        f"127.0.0.1:{port}",
        "isso.run:application",
    ]


def _post_thread(base: str, uri: str, planned: list[PlannedComment], title: str) -> None:
    ids: list[int] = []
    for comment in planned:
        payload: dict[str, object] = {
            "text": comment.body,
            "author": comment.author.name,
            "email": comment.author.email,
            "website": comment.author.website,
            "title": title,  # with a title Isso does not fetch the page to find one
        }
        if comment.parent is not None:
            # Isso nests one level only and hangs deeper replies under the top-level one.
            payload["parent"] = ids[comment.parent]
        resp = request(
            "POST",
            f"{base}/new?uri={uri}",
            headers={"Content-Type": "application/json", "Origin": ORIGIN},
            body=json.dumps(payload).encode(),
        )
        if resp.status != 201:
            raise IssoError(f"Isso refused a seeding post: HTTP {resp.status} {resp.body[:300]!r}")
        ids.append(json.loads(resp.body)["id"])


def seed(base: str, plan: Plan) -> tuple[int, float]:
    """The 100-comment thread and the 50 listed posts; returns (comments, seconds)."""
    started = time.perf_counter()
    planned = plan.threads[ISSO_THREAD_SIZE]
    _post_thread(base, thread_path(ISSO_THREAD_SIZE), planned, "A post with 100 comments")
    total = len(planned)
    for i, comments in enumerate(plan.count_threads):
        _post_thread(base, count_path(i + 1), comments, f"Listed post {i + 1}")
        total += len(comments)
    return total, time.perf_counter() - started


_KEY = re.compile(r"Comment ([\w-]+) from")


def stored_keys(database: Path, uri: str) -> list[tuple[str, object]]:
    """(key, thread id) of every comment on `uri`, the key read from its text as
    bench/writers.lua wrote it."""
    with sqlite3.connect(database) as conn:
        rows = conn.execute(
            "SELECT c.text, c.tid FROM comments c JOIN threads t ON c.tid = t.id WHERE t.uri = ?",
            (uri,),
        ).fetchall()
    return [(m.group(1) if (m := _KEY.search(text)) else "?", tid) for text, tid in rows]
