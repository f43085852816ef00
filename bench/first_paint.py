"""The reader's first paint: from the widget's script tag to comments on screen, in Chromium.

Seeds the benchmark's threads (plan.py, afterword_seed.py), serves Afterword with gunicorn
(2 workers, production settings, as run.py does) and a host blog post from a second local
server, then loads that post in headless Chromium again and again, each time in a new
browser context, and measures for each load:

- **first paint**: from the start of embed.js's fetch (its PerformanceResourceTiming
  `startTime`) to the first frame with a comment (`li.c`) in the widget's shadow root: a
  MutationObserver sees the first comment, a requestAnimationFrame callback then waits for
  the frame that draws it, and a task posted from there runs once it has been drawn;
- **main-thread work**: Chrome's trace of the renderer's main thread from the start of
  embed.js's evaluation to that mark: the time its tasks took (script, style, layout, paint),
  of which the widget's script (its evaluation, its callbacks, the JSON it parses). The host
  page runs no script of its own and the harness waits on the console rather than running
  any in the page, so everything in that span is the widget's (before it, the main thread
  parses and lays out the host page);
- **layout shift** of the host page (layout-shift entries without recent input), split into
  shifts of elements above the widget (which should never move) and of the rest.

Half the loads start with an empty cache (a new context), half with embed.js and the thread
already cached (the same post opened once before in that context). Prints a table, checks
the targets and exits 0 when the run finished (whatever the verdicts), 1 when it could not.

    .venv/bin/python bench/first_paint.py            # 20 loads per thread, 10 cold, 10 warm
    .venv/bin/python bench/first_paint.py --loads 40 --sizes 100,1000,10000
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import afterword_seed
import cpu
from plan import ORIGIN, make_plan, thread_path
from servers import Server, ServerError, free_port, request, running

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
HOST = ORIGIN.removeprefix("http://")  # blog.bench.test, resolved to the local host server

# Thread size -> the most the median first paint may take, in ms; and the other limits.
PAINT_TARGETS_MS = {100: 150.0, 1_000: 250.0}
MAIN_THREAD_TARGET_MS = 30.0
ABOVE_SHIFT_TARGET = 0.0

# Some article text, the snippet as the README gives it, and content below: the widget is in
# the first screen, so anything it pushed around would count as a visible shift.
HOST_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>A post with {size} comments · Bench blog</title>
<style>body{{font:17px/1.6 Georgia,serif;max-width:42em;margin:2em auto;padding:0 1em}}</style>
</head><body>
<header id="above"><h1>A post with {size} comments</h1>
<p>{para}</p><p>{para}</p></header>
<div id="afterword"{reserve}></div>
<script src="{service}/embed.js" data-site="{site}" async></script>
<footer id="below"><p>Below the comments: the blog's footer.</p><p>{para}</p></footer>
</body></html>
"""
PARAGRAPH = (
    "A paragraph of the article the comments are about, long enough to wrap over a few lines "
    "so that the widget starts halfway down the first screen, where a reader would see any "
    "movement of the text around it while the comments load."
)

# Injected before the page's own code: watches for the first comment and for layout shifts.
INIT_SCRIPT = """
(() => {
  const PAINTED = "aw-painted";
  const out = (window.__paint = { shifts: [] });
  const where = (node) => {
    const host = document.getElementById("afterword");
    if (!node || !host) return "unknown";
    if (node === host || host.contains(node)) return "widget";
    const pos = node.compareDocumentPosition(host);
    if (pos & Node.DOCUMENT_POSITION_CONTAINED_BY) return "around";
    return pos & Node.DOCUMENT_POSITION_FOLLOWING ? "above" : "below";
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      if (e.hadRecentInput) continue;
      out.shifts.push({ value: e.value, at: e.startTime,
        sources: (e.sources || []).map((s) => where(s.node)) });
    }
  }).observe({ type: "layout-shift", buffered: true });
  const attach = Element.prototype.attachShadow;
  Element.prototype.attachShadow = function (init) {
    const root = attach.call(this, init);
    const seen = new MutationObserver(() => {
      if (!root.querySelector("li.c")) return;
      seen.disconnect();
      out.inserted = performance.now();
      requestAnimationFrame(() => {
        out.frame = performance.now();
        const ch = new MessageChannel();
        ch.port1.onmessage = () => {
          out.painted = performance.now();
          performance.mark("aw-painted");
          console.debug(PAINTED); // tells the harness without its running anything in the page
        };
        ch.port2.postMessage(0);
      });
    });
    seen.observe(root, { childList: true, subtree: true });
    return root;
  };
})();
"""

TRACE_CATEGORIES = ["devtools.timeline", "blink.user_timing", "toplevel"]
# Trace events that are the widget's script running, when they name embed.js or are the
# promise callbacks and JSON parsing that follow its fetches.
TRACE_DIR: Path | None = None  # --traces: where each load's trace is kept, for DevTools
SCRIPT_EVENTS = {"EvaluateScript", "FunctionCall", "v8.compile", "v8.compileModule"}
MICROTASKS = {"RunMicrotasks", "BlinkScheduler_PerformMicrotaskCheckpoint"}


@dataclass
class Load:
    size: int
    warm: bool
    paint_ms: float
    inserted_ms: float
    main_ms: float  # CPU time of the main thread's tasks
    main_wall_ms: float
    script_ms: float
    thread_wait_ms: float  # the thread's request: sent to its answer's last byte
    shift_above: float
    shift_other: float
    comments: int


@dataclass
class Summary:
    loads: list[Load] = field(default_factory=list)

    def of(self, size: int, warm: bool | None = None) -> list[Load]:
        return [x for x in self.loads if x.size == size and (warm is None or x.warm == warm)]


def host_server(pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Length", str(len(body or b"")))
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main_thread_work(trace: Any, start_url: str) -> tuple[float, float, float]:
    """(CPU time of the main thread's tasks, their wall time, the widget's script's CPU time),
    in ms, from the start of embed.js's evaluation to the mark set once the first comment was
    drawn.

    CPU time (the trace's `tdur`) rather than wall time: on a machine shared with other work
    a task's wall time includes the moments the thread waited for a core.
    """
    events = trace["traceEvents"] if isinstance(trace, dict) else trace
    sent = [
        e
        for e in events
        if e.get("name") == "ResourceSendRequest"
        and e.get("args", {}).get("data", {}).get("url", "").startswith(start_url)
    ]
    if not sent:
        raise RuntimeError("embed.js's request is not in the trace")
    main, begin = (sent[0]["pid"], sent[0]["tid"]), sent[0]["ts"]
    # Until embed.js runs, the main thread does the host page's own work (parsing the rest of
    # it, its first layout and paint): the widget's starts with its script's evaluation.
    evaluated = [
        e["ts"]
        for e in events
        if (e.get("pid"), e.get("tid")) == main
        and e.get("name") == "EvaluateScript"
        and start_url in str(e.get("args", {}).get("data", {}).get("url", ""))
    ]
    begin = min(evaluated, default=begin)
    marks = [e["ts"] for e in events if e.get("name") == "aw-painted"]
    on_main = [
        e
        for e in events
        if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X" and e["ts"] >= begin
    ]
    end = max(marks) if marks else max(e["ts"] for e in on_main)
    on_main = [e for e in on_main if e["ts"] <= end]
    tasks = [e for e in on_main if e["name"] in {"RunTask", "ThreadControllerImpl::RunTask"}]
    cpu = sum(e.get("tdur", e.get("dur", 0)) for e in tasks) / 1000
    wall = sum(e.get("dur", 0) for e in tasks) / 1000
    # Script: embed.js's evaluation and the callbacks and promise jobs after its fetches
    # (the page runs no other script); nested events counted once.
    spans: list[tuple[int, int]] = []
    for e in on_main:
        data = e.get("args", {}).get("data", {})
        url = data.get("url", "") if isinstance(data, dict) else ""
        if (e["name"] in SCRIPT_EVENTS and "embed.js" in url) or e["name"] in MICROTASKS:
            spans.append((e["ts"], e["ts"] + e.get("dur", 0), e.get("tdur", e.get("dur", 0))))
    spans.sort()
    script, reach = 0, 0
    for _, b, cpu_us in spans:
        if b <= reach:
            continue  # inside one already counted
        script += cpu_us
        reach = b
    return cpu, wall, script / 1000


def painted(page: Any) -> Any:
    """Waits for the init script's word that the first comment was drawn. Through the console,
    which the browser reports on its own: waiting with `wait_for_function` would run
    Playwright's script in the page (its set-up, then a check every frame), on the main thread
    being measured."""
    return page.expect_console_message(lambda m: m.text == "aw-painted", timeout=30_000)


def measure(browser: Any, url: str, service: str, size: int, warm: bool) -> Load:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_init_script(INIT_SCRIPT)
    try:
        if warm:
            # Opened once before: embed.js and the thread's first page in the HTTP cache,
            # and V8's code cache for embed.js, as for a reader's second post of the blog.
            for _ in range(2):
                first = context.new_page()
                with painted(first):
                    first.goto(url)
                first.close()
        page = context.new_page()
        browser.start_tracing(page=page, categories=TRACE_CATEGORIES)
        with painted(page):
            page.goto(url)
        page.wait_for_timeout(300)  # late shifts (the form after the comments) count too
        raw = browser.stop_tracing()
        if TRACE_DIR:
            TRACE_DIR.mkdir(exist_ok=True)
            (TRACE_DIR / f"{size}-{'warm' if warm else 'cold'}-{time.time_ns()}.json").write_bytes(
                raw
            )
        trace = json.loads(raw)
        got = page.evaluate(
            """() => {
              const res = performance.getEntriesByType("resource");
              const r = res.find((e) => e.name.includes("/embed.js"));
              const t = res.find((e) => e.name.includes("/thread?"));
              const root = document.getElementById("afterword").shadowRoot;
              return { start: r.startTime, wait: t ? t.responseEnd - t.startTime : NaN,
                       ...window.__paint, comments: root.querySelectorAll("li.c").length };
            }"""
        )
    finally:
        context.close()
    main_ms, wall_ms, script_ms = main_thread_work(trace, f"{service}/embed.js")
    above = sum(s["value"] for s in got["shifts"] if "above" in s["sources"])
    other = sum(s["value"] for s in got["shifts"]) - above
    return Load(
        size=size,
        warm=warm,
        paint_ms=got["painted"] - got["start"],
        inserted_ms=got["inserted"] - got["start"],
        main_ms=main_ms,
        main_wall_ms=wall_ms,
        script_ms=script_ms,
        thread_wait_ms=got["wait"],
        shift_above=above,
        shift_other=other,
        comments=got["comments"],
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(summary: Summary, sizes: list[int]) -> list[tuple[str, str, str, str]]:
    print(
        f"\n{'thread':>7} {'cache':5} {'loads':>5} | {'paint p50':>9} {'p90':>6} {'max':>6} "
        f"| {'request':>7} | {'main CPU':>8} {'max':>5} {'wall':>6} {'script':>6} "
        f"| {'shift above':>11} {'other':>6} | {'li.c':>4}"
    )
    for size in sizes:
        for warm in (False, True):
            runs = summary.of(size, warm)
            if not runs:
                continue
            paints = sorted(x.paint_ms for x in runs)
            p90 = paints[min(len(paints) - 1, round(0.9 * (len(paints) - 1)))]
            print(
                f"{size:>7,} {'warm' if warm else 'cold':5} {len(runs):>5} | "
                f"{median(paints):>7.0f}ms {p90:>4.0f}ms {paints[-1]:>4.0f}ms | "
                f"{median([x.thread_wait_ms for x in runs]):>5.0f}ms | "
                f"{median([x.main_ms for x in runs]):>6.1f}ms {max(x.main_ms for x in runs):>5.1f} "
                f"{median([x.main_wall_ms for x in runs]):>4.0f}ms "
                f"{median([x.script_ms for x in runs]):>4.1f}ms | "
                f"{max(x.shift_above for x in runs):>11.4f} "
                f"{median([x.shift_other for x in runs]):>6.4f} | {runs[0].comments:>4}"
            )
    verdicts = []
    for size, limit in PAINT_TARGETS_MS.items():
        for warm in (False, True):
            runs = summary.of(size, warm)
            if runs:
                got = median([x.paint_ms for x in runs])
                verdicts.append(
                    (
                        f"first paint, {size:,} comments, {'warm' if warm else 'cold'}, median",
                        f"{got:.1f} ms",
                        f"<= {limit:.0f} ms",
                        "PASS" if got <= limit else "FAIL",
                    )
                )
    if summary.loads:
        worst = median([x.main_ms for x in summary.loads])
        per_set = max(
            median([x.main_ms for x in summary.of(s, w)])
            for s in sizes
            for w in (False, True)
            if summary.of(s, w)
        )
        worst = max(worst, per_set)
        verdicts.append(
            (
                "main-thread work, median (worst thread and cache)",
                f"{worst:.1f} ms",
                f"<= {MAIN_THREAD_TARGET_MS:.0f} ms",
                "PASS" if worst <= MAIN_THREAD_TARGET_MS else "FAIL",
            )
        )
        above = max(x.shift_above for x in summary.loads)
        verdicts.append(
            (
                "layout shift above the widget, any load",
                f"{above:.4f}",
                "= 0",
                "PASS" if above <= ABOVE_SHIFT_TARGET else "FAIL",
            )
        )
    print()
    for name, got, limit, verdict in verdicts:
        print(f"{verdict}  {name}: {got} ({limit})")
    return verdicts


def run(options: argparse.Namespace) -> int:
    from playwright.sync_api import sync_playwright

    sizes = [int(s) for s in options.sizes.split(",")]
    plan = make_plan()
    with tempfile.TemporaryDirectory(prefix="afterword-paint-") as tmp:
        workdir = Path(tmp)
        url = afterword_seed.sqlite_url(workdir)
        print(
            f"seeding; machine idle {cpu.idle_share():.0f} %, calibration {cpu.calibrate():.0f} ms",
            flush=True,
        )
        afterword_seed.migrate(url, workdir)
        seeded = afterword_seed.seed(url, plan)
        port = free_port()
        service = f"http://127.0.0.1:{port}"
        config = workdir / "gunicorn.bench.conf.py"
        config.write_text("# Empty on purpose: gunicorn's defaults.\n")
        server = Server(
            "Afterword",
            [
                str(VENV_BIN / "gunicorn"),
                "-c",
                str(config),
                "-w",
                "2",
                "-b",
                f"127.0.0.1:{port}",
                "app:create_app()",
            ],
            env=afterword_seed.server_env(url, workdir, service),
            cwd=ROOT,
            log_path=workdir / "gunicorn.log",
        )
        reserve = f' style="min-height: {options.reserve}"' if options.reserve else ""
        pages = {
            thread_path(size): HOST_PAGE.format(
                size=f"{size:,}", para=PARAGRAPH, service=service, site=seeded.site_id,
                reserve=reserve,
            ).encode()
            for size in sizes
        }  # fmt: skip
        host = host_server(pages)
        try:
            with running(server), sync_playwright() as pw:
                server.wait_ready(f"{service}/healthz")
                script = request("GET", f"{service}/embed.js", headers={"Accept-Encoding": "gzip"})
                print(
                    f"embed.js: {len(script.body):,} bytes "
                    f"({script.headers.get('content-encoding', 'identity')}), "
                    f"ETag {script.headers.get('etag')}"
                )
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[
                        "--no-sandbox",
                        "--disable-gpu",
                        "--disable-background-networking",
                        "--disable-component-update",
                        "--no-first-run",
                        # The seeded site's origin, served by the local host server.
                        f"--host-resolver-rules=MAP {HOST} 127.0.0.1:{host.server_port}",
                    ],
                )
                summary = Summary()
                print(f"gunicorn -w 2 on {service}; {options.loads} loads per thread")
                for size in sizes:
                    measure(browser, ORIGIN + thread_path(size), service, size, False)  # warm-up
                    for i in range(options.loads):
                        summary.loads.append(
                            measure(browser, ORIGIN + thread_path(size), service, size, i % 2 == 1)
                        )
                browser.close()
        except ServerError as exc:
            print(exc, file=sys.stderr)
            return 1
        finally:
            host.shutdown()
    idle, calibration = cpu.idle_share(), cpu.calibrate()
    print(f"after the loads: machine idle {idle:.0f} %, calibration {calibration:.0f} ms")
    report(summary, sizes)
    if options.json:
        Path(options.json).write_text(
            json.dumps(
                {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                 "loads": [x.__dict__ for x in summary.loads]},
                indent=1,
            )
        )  # fmt: skip
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--loads", type=int, default=20, help="loads per thread (half warm)")
    parser.add_argument("--sizes", default="100,1000", help="threads, by their comment count")
    parser.add_argument("--reserve", default="", help="min-height of the host's div, e.g. 40em")
    parser.add_argument("--json", default="", help="write every load to this file")
    parser.add_argument("--traces", default="", help="keep each load's Chrome trace here")
    options = parser.parse_args()
    global TRACE_DIR
    TRACE_DIR = Path(options.traces) if options.traces else None
    return run(options)


if __name__ == "__main__":
    sys.exit(main())
