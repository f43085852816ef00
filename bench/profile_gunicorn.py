"""gunicorn settings for `bench/run.py --profile DIR`: each worker runs under pyinstrument
from fork to exit and writes its report to DIR (worker-PID.txt, and .pyisession for
`pyinstrument --load`).

pyinstrument is not one of Afterword's dependencies: `.venv/bin/pip install pyinstrument`.
A worker's report covers its whole life, so the time it waited for connections shows too
(under gunicorn's `sleep`/`wait`); a request's share is below `handle_request`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyinstrument import Profiler

_profiler: Profiler | None = None


def post_fork(server: Any, worker: Any) -> None:
    global _profiler
    _profiler = Profiler(interval=0.001)
    _profiler.start()


def worker_exit(server: Any, worker: Any) -> None:
    if _profiler is None:
        return
    _profiler.stop()
    out = Path(os.environ["AFTERWORD_PROFILE_DIR"])
    out.mkdir(parents=True, exist_ok=True)
    report = out / f"worker-{worker.pid}"
    session = _profiler.last_session
    if session is not None:
        session.save(str(report.with_suffix(".pyisession")))
    report.with_suffix(".txt").write_text(_profiler.output_text(color=False))
