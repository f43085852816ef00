"""axe-core over a page in the browser tests, against the WCAG 2.0, 2.1 and 2.2 A and AA rules.

`expect_accessible(page)` fails with one readable line per rule broken and one per element
that breaks it. axe walks into open shadow roots by itself, so the widget is checked too;
its selectors then read `#afterword >>> form input`, host first.
"""

from __future__ import annotations

from typing import Any

from axe_playwright_python.base import AXE_SCRIPT
from playwright.sync_api import Page

WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
# The package's `Axe.run` works with the sync API, but loads axe-core anew on every call and
# writes its arguments into the script with repr(); this loads the axe-core it ships once per
# page and hands the arguments over as data.
_RUN = "([context, options]) => axe.run(context || document, options).then((r) => r.violations)"


class AxeViolations(AssertionError):
    """What `expect_accessible` raises, so that a test can expect exactly this failure."""


def violations(page: Page, context: str | None = None) -> list[dict[str, Any]]:
    """The rules `page` (or the part `context` selects) breaks, as axe reports them."""
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_SCRIPT)
    return page.evaluate(_RUN, [context, OPTIONS])


def _selector(target: list[Any]) -> str:
    # An element inside a shadow root is a list of selectors, from the outermost host in.
    return " ".join(" >>> ".join(part) if isinstance(part, list) else part for part in target)


def report(found: list[dict[str, Any]]) -> str:
    lines = [f"{len(found)} accessibility rule(s) broken:"]
    for rule in found:
        lines.append(f"- {rule['id']} ({rule['impact']}): {rule['help']}")
        for node in rule["nodes"]:
            summary = " ".join((node.get("failureSummary") or "").split())
            html = " ".join(node["html"].split())
            html = html if len(html) <= 100 else html[:99] + "…"
            lines.append(f"    {_selector(node['target'])}  {html}\n      {summary}")
    return "\n".join(lines)


def expect_accessible(page: Page, context: str | None = None) -> None:
    found = violations(page, context)
    if found:
        raise AxeViolations(report(found))
