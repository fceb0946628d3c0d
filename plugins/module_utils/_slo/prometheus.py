# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Prometheus HTTP API access shared by every sre.runbooks module that reads Prometheus.

``PROMETHEUS_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.prometheus``
doc fragment. :class:`PrometheusClient` runs instant and range queries and turns every failure into
:class:`PrometheusError`, whose text is one sentence naming the server and the cause.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, describe_url, exchange, join_url
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import server_args, transport_ranges

PROMETHEUS_COMMON_ARGS, PROMETHEUS_MUTUALLY_EXCLUSIVE, PROMETHEUS_REQUIRED_TOGETHER = server_args(
    "prometheus", "PROMETHEUS", "http://localhost:9090")
# Passed to RunbookModule(ranges=...).
PROMETHEUS_RANGES = transport_ranges("prometheus")


class PrometheusError(Exception):
    """An expected Prometheus failure; ``str()`` is one sentence fit for fail_json."""


def parse_time(value):
    """Unix seconds from None (now), a number, a numeric string or an RFC 3339 / ISO 8601 text."""
    if value is None or value == "":
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _epoch(float(value), value)
    text = str(value).strip()
    try:
        return _epoch(float(text), text)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PrometheusError(f"Invalid evaluation time {text!r}: use unix seconds or RFC 3339 such as "
                              "2025-01-31T00:00:00Z.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def _epoch(seconds, shown):
    # Prometheus accepts times between year 0 and 9999; NaN, infinity and '1e400' are typos.
    if not math.isfinite(seconds) or not -62135596800 <= seconds <= 253402300799:
        raise PrometheusError(f"Invalid evaluation time {str(shown)[:40]!r}: use unix seconds or RFC 3339 such as "
                              "2025-01-31T00:00:00Z.")
    return seconds


def sample_value(text):
    """A Prometheus sample value ("1.5", "NaN", "+Inf") as a float, or None for NaN."""
    value = float(text)
    return None if math.isnan(value) else value


def _sample(pair):
    """The value of a [time, "value"] pair; raises TypeError/ValueError on any other shape."""
    if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[1], str):
        raise TypeError("not a sample")
    return sample_value(pair[1])


def _labels(item):
    """The label set of one vector element (an element that is not a mapping raises AttributeError)."""
    labels = item.get("metric") or {}
    if not isinstance(labels, dict):
        raise TypeError("labels are not a mapping")
    return labels


# Prometheus refuses a range query of more than 11,000 points per series; stay below with a margin.
MAX_POINTS = 10000


class PrometheusClient:
    """Instant and range queries against one Prometheus server, configured from PROMETHEUS_COMMON_ARGS."""

    def __init__(self, params):
        self.url = params["prometheus_url"]
        self.params = params
        self.queries = 0

    @property
    def where(self):
        return describe_url(self.url)

    def _data(self, path, form, expr):
        """POST ``form`` to the API ``path``; the ``data`` of a successful answer, else PrometheusError."""
        params = self.params
        try:
            resp = exchange("POST", join_url(self.url, path), form=form,
                            timeout=params.get("prometheus_timeout") or 30.0,
                            validate_certs=params.get("prometheus_validate_certs", True),
                            ca_path=params.get("prometheus_ca_path"), token=params.get("prometheus_token"),
                            username=params.get("prometheus_username"), password=params.get("prometheus_password"))
        except TransportError as exc:
            raise PrometheusError(f"Cannot reach Prometheus at {self.where}: {exc.cause}.") from None
        self.queries += 1
        payload = resp.json if isinstance(resp.json, dict) else None
        if resp.status in (401, 403):
            raise PrometheusError(f"Prometheus at {self.where} refused the credentials (HTTP {resp.status}).")
        if payload is None:
            raise PrometheusError(f"Prometheus at {self.where} answered HTTP {resp.status} without a JSON object "
                                  "(is prometheus_url the server's base URL?).")
        if payload.get("status") != "success":
            error = str(payload.get("error") or f"HTTP {resp.status}").rstrip(".")
            raise PrometheusError(f"Prometheus at {self.where} rejected the query {expr!r}: {error}.")
        return payload.get("data") if isinstance(payload.get("data"), dict) else {}

    def query(self, expr, at=None):
        """Run ``expr`` at unix time ``at`` (None: now); return [{"metric": {...}, "value": float|None}].

        Scalars come back as one sample with empty labels.
        """
        form = {"query": expr}
        if at is not None:
            form["time"] = f"{at:.3f}"
        data = self._data("/api/v1/query", form, expr)
        kind, result = data.get("resultType"), data.get("result")
        try:
            if kind == "vector":
                return [{"metric": _labels(item), "value": _sample(item.get("value"))} for item in result or []]
            if kind == "scalar":
                return [{"metric": {}, "value": _sample(result)}]
        except (AttributeError, TypeError, ValueError, OverflowError):
            raise PrometheusError(f"Prometheus at {self.where} answered the query {expr!r} with a {kind} that is not "
                                  "made of [time, value] samples.") from None
        what = f"a {kind}" if kind else "no result type"
        raise PrometheusError(f"Prometheus at {self.where} returned {what} for {expr!r}; an instant vector is needed.")

    def query_range(self, expr, start, end, step):
        """Run ``expr`` at every ``step`` seconds from ``start`` to ``end`` (unix seconds, both included).

        Returns [{"metric": {...}, "values": [(time, float|None), ...]}], one entry per series. A range of more
        than MAX_POINTS steps is refused by Prometheus itself; callers split long ranges (see range_chunks).
        """
        form = {"query": expr, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        data = self._data("/api/v1/query_range", form, expr)
        kind, result = data.get("resultType"), data.get("result")
        if kind != "matrix":
            what = f"a {kind}" if kind else "no result type"
            raise PrometheusError(f"Prometheus at {self.where} returned {what} for the range query {expr!r}; "
                                  "a range vector (matrix) is needed.")
        try:
            return [{"metric": _labels(item), "values": [(float(pair[0]), _sample(pair)) for pair in item["values"]]}
                    for item in result or []]
        except (AttributeError, KeyError, TypeError, ValueError, OverflowError, IndexError):
            raise PrometheusError(f"Prometheus at {self.where} answered the range query {expr!r} with a matrix that "
                                  "is not made of [time, value] samples.") from None

    def scalar(self, expr, at=None):
        """The single value of a query that aggregates to one sample, or None when it returns nothing."""
        return single_value(self.query(expr, at), expr, self.where)


def range_chunks(start, end, step, max_points=MAX_POINTS):
    """[(start, end)] pieces of [start, end] on the grid start + k * step, each of at most ``max_points`` points.

    Consecutive pieces do not share a point, so their samples concatenate without duplicates.
    """
    if step <= 0 or end < start:
        return []
    points = int((end - start) // step) + 1
    chunks = []
    first = 0
    while first < points:
        last = min(points, first + max_points) - 1
        chunks.append((start + first * step, start + last * step))
        first = last + 1
    return chunks


def single_value(samples, expr, where):
    """The value of the one sample ``expr`` returned (None for none); several series are a mistake in the query."""
    if len(samples) > 1:
        raise PrometheusError(f"The query {expr!r} returned {len(samples)} series from Prometheus at {where}; "
                              "wrap it in sum() so it returns one.")
    return samples[0]["value"] if samples else None
