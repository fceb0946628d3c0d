"""Generated Prometheus history with known error ratios and latencies, and its exact analytic SLO numbers.

The V2 API serves a constant 600 requests a minute for 31 days. Most of the time 0.03 % of
them fail; ten days ago an incident failed 10 % of them for two hours; the last two hours
are an ongoing incident at 2 %. Latency follows a per-phase distribution over the histogram
buckets. A V1 series with 5 % errors sits beside it, so a query that ignored the selector
would be visibly wrong.

``openmetrics(end)`` renders the history as OpenMetrics for ``promtool tsdb
create-blocks-from openmetrics``; :class:`History` answers "how many requests / failures /
requests slower than X in the window ending at ``end``" by integrating the piecewise-constant
rates, independently of Prometheus and of the collection's code.
"""

from __future__ import annotations

import io

RATE = 10.0  # requests per second
BOUNDS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
DAY = 86400
HOUR = 3600
SPAN = 31 * DAY
# Sample times. promtool writes one TSDB block per 2-hour range that holds a sample (about
# 50 ms each, fsync-bound), so the history is dense only where short windows need it: every
# 30 s for the last 6 hours, every 10 minutes back to a day, daily before that, plus a sample
# exactly at the start of every SLO / burn-rate window and at the incident's edges. Prometheus
# 2.x range selectors include their start, so increase() over each window is then exact
# (no extrapolation) and the analytic numbers hold to floating-point precision.
GRIDS = ((6 * HOUR, 30), (DAY, 600), (SPAN, DAY))
WINDOW_EDGES = (300, 1800, HOUR, 2 * HOUR, 6 * HOUR, DAY, 3 * DAY, 30 * DAY)

# Cumulative share of requests served within each bound, per phase.
BASE = {"error_ratio": 0.0003, "cdf": (0.30, 0.60, 0.85, 0.95, 0.985, 0.997, 1.0, 1.0)}
INCIDENT_A = {"error_ratio": 0.10, "cdf": (0.05, 0.15, 0.30, 0.45, 0.60, 0.80, 0.95, 1.0)}
INCIDENT_B = {"error_ratio": 0.02, "cdf": (0.10, 0.30, 0.50, 0.70, 0.82, 0.90, 0.98, 1.0)}
V1 = {"error_ratio": 0.05, "cdf": BASE["cdf"]}
# (start seconds ago, end seconds ago, phase), newest last; BASE everywhere else.
INCIDENTS = ((10 * DAY, 10 * DAY - 2 * HOUR, INCIDENT_A), (2 * HOUR, 0, INCIDENT_B))


class History:
    """Exact event counts of the generated history in windows ending at ``end`` (unix seconds)."""

    def __init__(self, end):
        self.end = end

    def _segments(self, start, stop):
        """(seconds, phase) pieces covering [start, stop] (absolute times)."""
        cuts = []
        for ago_start, ago_end, phase in INCIDENTS:
            a, b = self.end - ago_start, self.end - ago_end
            if b > start and a < stop:
                cuts.append((max(a, start), min(b, stop), phase))
        cuts.sort(key=lambda c: c[0])
        pieces, cursor = [], start
        for a, b, phase in cuts:
            if a > cursor:
                pieces.append((a - cursor, BASE))
            pieces.append((b - a, phase))
            cursor = b
        if stop > cursor:
            pieces.append((stop - cursor, BASE))
        return pieces

    def counts(self, window_seconds):
        """{"total", "errors", "le": {bound: cumulative}} of the V2 API over the window."""
        total = errors = 0.0
        le = {b: 0.0 for b in BOUNDS}
        for seconds, phase in self._segments(self.end - window_seconds, self.end):
            n = RATE * seconds
            total += n
            errors += n * phase["error_ratio"]
            for bound, share in zip(BOUNDS, phase["cdf"]):
                le[bound] += n * share
        return {"total": total, "errors": errors, "le": le}

    def error_ratio(self, window_seconds):
        c = self.counts(window_seconds)
        return c["errors"] / c["total"]

    def share_slower(self, window_seconds, threshold):
        """Share of requests slower than ``threshold`` (a bucket bound)."""
        c = self.counts(window_seconds)
        return 1.0 - c["le"][threshold] / c["total"]

    def quantile(self, window_seconds, q):
        """The q-quantile by linear interpolation inside the bucket, as histogram_quantile does."""
        c = self.counts(window_seconds)
        rank = q * c["total"]
        lower_bound, lower_count = 0.0, 0.0
        for bound in BOUNDS:
            count = c["le"][bound]
            if count >= rank:
                return lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
            lower_bound, lower_count = bound, count
        return BOUNDS[-1]


def timestamps(end):
    """Sample times, oldest first (see GRIDS)."""
    stamps = set()
    newer = 0
    for older, step in GRIDS:
        stamps.update(range(end - newer, end - older - 1, -step))
        newer = older
    stamps.update(end - w for w in WINDOW_EDGES)
    for ago_start, ago_end, _phase in INCIDENTS:
        stamps.update((end - ago_start, end - ago_end))
    return sorted(t for t in stamps if t >= end - SPAN)


def _phase_integral(end, t):
    """{"total", "errors", "le"} counted from the start of the history up to t."""
    history = History(end)
    total = errors = 0.0
    le = [0.0] * len(BOUNDS)
    for seconds, phase in history._segments(end - SPAN, t):  # noqa: SLF001 - same module
        n = RATE * seconds
        total += n
        errors += n * phase["error_ratio"]
        for i, share in enumerate(phase["cdf"]):
            le[i] += n * share
    return total, errors, le


def openmetrics(end, stamps=None):
    """History as OpenMetrics text (ends with '# EOF'); ``stamps`` limits it to those sample times."""
    stamps = list(stamps if stamps is not None else timestamps(end))
    v2 = [_phase_integral(end, t) for t in stamps]
    out = io.StringIO()
    out.write("# HELP platform_http_requests HTTP requests served.\n# TYPE platform_http_requests counter\n")
    for api, code in (("v2", "200"), ("v2", "500"), ("v1", "200"), ("v1", "500")):
        labels = f'{{api="{api}",code="{code}",method="GET",route="/api/v1/health/status"}}'
        for t, (total, errors, _le) in zip(stamps, v2):
            if api == "v1":
                errors = total * V1["error_ratio"]
            value = errors if code == "500" else total - errors
            out.write(f"platform_http_requests_total{labels} {value:.6f} {t}\n")
    out.write("# HELP platform_http_request_duration_seconds Time to serve HTTP requests.\n"
              "# TYPE platform_http_request_duration_seconds histogram\n")
    for t, (total, _errors, le) in zip(stamps, v2):
        for bound, count in zip(BOUNDS, le):
            out.write(f'platform_http_request_duration_seconds_bucket{{api="v2",le="{bound:g}"}} {count:.6f} {t}\n')
        out.write(f'platform_http_request_duration_seconds_bucket{{api="v2",le="+Inf"}} {total:.6f} {t}\n')
        out.write(f'platform_http_request_duration_seconds_count{{api="v2"}} {total:.6f} {t}\n')
    out.write("# EOF\n")
    return out.getvalue()
