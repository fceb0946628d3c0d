# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The cost report (runbook-coverage S4) as pure functions: requested, used and recommended resources, priced.

A workload costs what it requests (the scheduler reserves it whether used or not): CPU cores times
the price of a core-hour plus memory GiB times the price of a GiB-hour. What it uses is priced the
same way; waste is requested minus used (negative when a workload uses more than it requests), and the
saving of right-sizing is requested minus the recommended requests of every live pod.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._capacity.recommend import CapacityError

GIB = 2 ** 30
HOURS_PER_MONTH = 730.0


def check_prices(prices):
    """The price options as numbers, or CapacityError (one sentence) when one is missing or negative."""
    if not prices:
        raise CapacityError("prices must give cpu_core_hour and memory_gb_hour for a cost report.")
    missing = [key for key in ("cpu_core_hour", "memory_gb_hour") if prices.get(key) is None]
    if missing:
        raise CapacityError(f"prices is missing {' and '.join(missing)} (the price of one CPU core-hour and of "
                            "one GiB-hour of memory).")
    checked = {"cpu_core_hour": float(prices["cpu_core_hour"]), "memory_gb_hour": float(prices["memory_gb_hour"]),
               "currency": prices.get("currency") or "USD",
               "hours_per_month": float(prices.get("hours_per_month") or HOURS_PER_MONTH)}
    for key in ("cpu_core_hour", "memory_gb_hour"):
        if checked[key] < 0:
            raise CapacityError(f"prices.{key} must not be negative, not {checked[key]:g}.")
    if checked["hours_per_month"] <= 0:
        raise CapacityError(f"prices.hours_per_month must be above 0, not {checked['hours_per_month']:g}.")
    return checked


def hourly(resources, prices):
    """Price of {"cpu_cores", "memory_bytes"} for one hour."""
    return (resources["cpu_cores"] * prices["cpu_core_hour"]
            + resources["memory_bytes"] / GIB * prices["memory_gb_hour"])


def _difference(first, second):
    return {"cpu_cores": first["cpu_cores"] - second["cpu_cores"],
            "memory_bytes": first["memory_bytes"] - second["memory_bytes"]}


def _priced(resources, prices):
    hour = hourly(resources, prices)
    return {"cpu_cores": resources["cpu_cores"], "memory_bytes": resources["memory_bytes"],
            "hourly": hour, "monthly": hour * prices["hours_per_month"]}


def workload_cost(requested, used, recommended, prices):
    """{requested, used, waste, recommended, savings}, each {cpu_cores, memory_bytes, hourly, monthly}.

    ``used`` or ``recommended`` may be None (no history): their entries, and waste or savings, are then None.
    """
    result = {"requested": _priced(requested, prices), "used": None, "waste": None, "recommended": None,
              "savings": None}
    if used is not None:
        result["used"] = _priced(used, prices)
        result["waste"] = _priced(_difference(requested, used), prices)
    if recommended is not None:
        result["recommended"] = _priced(recommended, prices)
        result["savings"] = _priced(_difference(requested, recommended), prices)
    return result


def summarize(entries, prices):
    """Sum the ``cost`` of ``entries`` (dicts with namespace and cost): per namespace, sorted, and in total.

    Parts that are None in an entry (no history) count as zero, and the sum says how many entries lacked them.
    """
    parts = ("requested", "used", "waste", "recommended", "savings")

    def empty():
        return {"workloads": 0, "without_history": 0,
                **{part: {"cpu_cores": 0.0, "memory_bytes": 0.0, "hourly": 0.0, "monthly": 0.0} for part in parts}}

    namespaces = {}
    total = empty()
    for entry in entries:
        for bucket in (namespaces.setdefault(entry["namespace"], empty()), total):
            bucket["workloads"] += 1
            bucket["without_history"] += entry["cost"]["used"] is None
            for part in parts:
                values = entry["cost"][part]
                if values is None:
                    continue
                for key in ("cpu_cores", "memory_bytes", "hourly", "monthly"):
                    bucket[part][key] += values[key]
    rows = [dict(namespace=name, **bucket) for name, bucket in sorted(namespaces.items())]
    return rows, dict(total, currency=prices["currency"])
