"""`make bench`: every benchmark of the project, one after another, and one summary of them.

    .venv/bin/python bench/all.py [--quick] [--only NAMES] [run.py's own options ...]

Runs bench/run.py in the production setup (`--production --big`, beside Isso),
bench/first_paint.py, bench/scale.py, and bench/soak.py when there is one, each as it runs by
itself, its output passed through as it comes. Then it lists every verdict they printed (each
line with PASS, FAIL or SKIP) under the script that printed it, so that nothing scrolled away
is missed. `--quick` runs each in its shortest form, all of them within two minutes on an idle
machine: numbers to see that everything works, not to publish. Options it does not know go to
run.py, after its defaults (say `--skip-isso`, or `--workloads thread-100,counts-50`).

The exit code is 0 when every script finished, whatever the verdicts (as each script's own);
1 when one could not, 2 when one says something must be installed first, 130 on Ctrl-C.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

# What each script is given: (full run, --quick). run.py's --quick keeps the production
# setup but not the million comments (seeding them takes half a minute) nor Isso.
SCRIPTS: dict[str, tuple[list[str], list[str]]] = {
    "run.py": (["--production", "--big"], ["--quick", "--production", "--seconds", "1"]),
    "first_paint.py": ([], ["--loads", "2", "--sizes", "100"]),
    "scale.py": ([], ["--quick", "--requests", "10"]),
    "soak.py": ([], ["--quick"]),  # on its own branch for now: run when it is here
}
VERDICT = re.compile(r"\b(PASS|FAIL|SKIP)\b")


@dataclass
class Outcome:
    script: str
    returncode: int
    seconds: float
    verdicts: list[str] = field(default_factory=list)


def run_script(name: str, args: list[str]) -> Outcome:
    argv = [sys.executable, "-u", str(BENCH_DIR / name), *args]
    print(f"\n===== {' '.join(['bench/' + name, *args])}", flush=True)
    started = time.monotonic()
    outcome = Outcome(name, 0, 0.0)
    with subprocess.Popen(  # noqa: S603 - this interpreter and the repository's scripts
        argv,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    ) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if VERDICT.search(line):
                outcome.verdicts.append(" ".join(line.split()))
    outcome.returncode = proc.returncode
    outcome.seconds = time.monotonic() - started
    return outcome


def summary(outcomes: list[Outcome]) -> str:
    tally = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    lines = []
    width = max(len(o.script) for o in outcomes)
    for o in outcomes:
        for verdict in o.verdicts:
            match = VERDICT.search(verdict)
            assert match is not None
            tally[match[1]] += 1
            lines.append(f"{o.script:<{width}}  {verdict}")
        if o.returncode != 0:
            tally["FAIL"] += 1
            lines.append(f"{o.script:<{width}}  FAIL did not finish (exit {o.returncode})")
    took = ", ".join(f"{o.script} {o.seconds:.0f}s" for o in outcomes)
    total = sum(o.seconds for o in outcomes)
    head = (
        f"===== make bench: {tally['PASS']} PASS, {tally['FAIL']} FAIL, {tally['SKIP']} SKIP "
        f"in {total:.0f}s ({took})"
    )
    return "\n".join(["", head, *lines])


def _raise_interrupt(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="each script's shortest form")
    parser.add_argument(
        "--only",
        metavar="NAMES",
        help="these scripts only, comma-separated (run.py,first_paint.py,scale.py,soak.py)",
    )
    options, run_args = parser.parse_known_args(argv)
    chosen = options.only.split(",") if options.only else list(SCRIPTS)
    unknown = set(chosen) - SCRIPTS.keys()
    if unknown:
        parser.error(f"no such benchmark: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, _raise_interrupt)
    outcomes = []
    try:
        for name in chosen:
            if not (BENCH_DIR / name).exists():
                print(f"\n===== bench/{name}: not in this tree, left out", flush=True)
                continue
            full, quick = SCRIPTS[name]
            args = (quick if options.quick else full) + (run_args if name == "run.py" else [])
            outcomes.append(run_script(name, args))
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        return 130
    print(summary(outcomes))
    codes = {o.returncode for o in outcomes} - {0}
    return 0 if not codes else 2 if codes == {2} else 1


if __name__ == "__main__":
    sys.exit(main())
