"""Request counters around "now" for bake (analysis) tests, written ahead into the future.

promtool backfills samples with future timestamps too, and a query at time t only sees samples
up to t; so a series that turns bad at ``turn_at`` (a few seconds after the Prometheus starts)
is a breach that happens DURING the bake, as a live one would, without scraping anything.

Series ``bake_http_requests_total{deploy=..., code=...}``, 10 requests a second, a sample every
second from ``start`` to ``end``:

* ``deploy="good"``: no errors;
* ``deploy="bad"``: half of the requests fail, all along;
* ``deploy="turns-bad"``: no errors before ``turn_at``, half fail from then on.

A selector matching nothing (``deploy="none"``) has no data: an inconclusive measurement.
"""

from __future__ import annotations

import io

RATE = 10.0
METRIC = "bake_http_requests_total"


def openmetrics(start: int, end: int, turn_at: int) -> str:
    """The three deployments' counters from ``start`` to ``end`` (unix seconds) as OpenMetrics text."""
    out = io.StringIO()
    out.write(f"# HELP {METRIC.removesuffix('_total')} Requests.\n# TYPE {METRIC.removesuffix('_total')} counter\n")
    for deploy in ("good", "bad", "turns-bad"):
        errors = total = 0.0
        for t in range(start, end + 1):
            total += RATE
            if deploy == "bad" or (deploy == "turns-bad" and t > turn_at):
                errors += RATE / 2
            out.write(f'{METRIC}{{code="200",deploy="{deploy}"}} {total - errors:.1f} {t}\n')
            out.write(f'{METRIC}{{code="500",deploy="{deploy}"}} {errors:.1f} {t}\n')
    out.write("# EOF\n")
    return out.getvalue()


def gate(deploy: str, url: str) -> dict:
    """slo_check options of an availability SLO (99 %) over the last 30 s of one deployment's counters."""
    return {"prometheus_url": url, "requests_metric": METRIC, "selector": f'deploy="{deploy}"', "window": "30s",
            "burn_rate_alerts": [{"long_window": "30s", "short_window": "10s", "factor": 1000}],
            "objectives": [{"name": "availability", "sli": "availability", "target": 99}]}
