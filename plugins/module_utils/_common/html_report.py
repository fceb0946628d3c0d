# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Self-contained HTML pages for the run reports, rendered from the same data as the JSON report. Pure.

A page fetches nothing: the CSS is inline, the charts are inline SVG, and a Content-Security-Policy
(``default-src 'none'``) makes the browser refuse any fetch a value could smuggle in. Every report
value is escaped (names, messages and labels can hold user text).

Each check is one ``<tr class="check-row" data-id=...>`` of the status grid, each chart one
``<svg class="chart" data-chart=...>``, so a browser test can count them against the JSON.
"""

from __future__ import annotations

import html
import math

KINDS = ("health_check", "weekly_maintenance", "slo", "compliance")

STATUS_COLOURS = {
    "ok": "#2e7d32", "passed": "#2e7d32", "done": "#2e7d32",
    "warning": "#f9a825", "waived": "#6d6d6d", "planned": "#1565c0", "skipped": "#6d6d6d",
    "critical": "#c62828", "breached": "#c62828", "failed": "#c62828",
    "unavailable": "#6d6d6d", "inconclusive": "#6d6d6d",
}

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#1b1b1b;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .3rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#555;font-size:.85rem}
table{border-collapse:collapse;width:100%;background:#fff;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
.status{display:inline-block;min-width:5.5rem;padding:.1rem .4rem;border-radius:.25rem;color:#fff;font-weight:600;
text-align:center}
.charts{display:flex;flex-wrap:wrap;gap:1rem}
figure{margin:0;background:#fff;border:1px solid #ddd;padding:.5rem}
figcaption{font-size:.85rem;font-weight:600;margin-bottom:.3rem}
svg text{font-size:11px;font-family:system-ui,sans-serif}
.none{color:#777;font-style:italic}
"""

# The page may load nothing from anywhere; inline styles only (the SVG is markup, not a fetch).
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def esc(value):
    """Any value as escaped HTML text; None as an em dash."""
    return "\u2014" if value is None else html.escape(str(value), quote=True)


def number(value, digits=3):
    """A float for charts; None for anything that is not a finite number."""
    try:
        result = float(value)
    except (TypeError, ValueError):
        return None
    return round(result, digits) if math.isfinite(result) else None


def human_bytes(size):
    """1536 -> '1.5 KiB'; None stays None."""
    size = number(size)
    if size is None:
        return None
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(size) < 1024 or unit == "TiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024.0
    return None  # pragma: no cover - the loop returns at TiB


def badge(status):
    colour = STATUS_COLOURS.get(str(status).lower(), "#455a64")
    return f'<span class="status" style="background:{colour}">{esc(status)}</span>'


def status_grid(rows, heading="Checks"):
    """The status grid: ``rows`` are ``(id, title, status, summary)``, one ``check-row`` each."""
    body = "".join(
        f'<tr class="check-row" data-id="{esc(row_id)}" data-status="{esc(status)}"><td>{esc(row_id)}</td>'
        f"<td>{esc(title)}</td><td>{badge(status)}</td><td>{esc(summary)}</td></tr>"
        for row_id, title, status, summary in rows)
    if not body:
        body = '<tr><td colspan="4" class="none">no checks in this run</td></tr>'
    return (f"<h2>{esc(heading)}</h2><table class=\"grid\"><thead><tr><th>id</th><th>check</th><th>status</th>"
            f"<th>summary</th></tr></thead><tbody>{body}</tbody></table>")


def bar_chart(chart_id, caption, bars, unit="", width=560):
    """A horizontal bar chart as inline SVG.

    ``bars`` are dicts ``{"label", "value", "threshold" (optional), "colour" (optional)}``; a bar past its
    threshold is red and the threshold is a dashed line. A bar without a value is drawn as "no data".
    """
    bar_height, gap, label_width, value_width = 16, 8, 190, 90
    plot = width - label_width - value_width
    values = [b["value"] for b in bars if b.get("value") is not None]
    values += [b["threshold"] for b in bars if b.get("threshold") is not None]
    scale_max = max([v for v in values if v > 0] or [1.0])
    height = max(1, len(bars)) * (bar_height + gap) + gap
    parts = [f'<figure><figcaption>{esc(caption)}</figcaption>'
             f'<svg class="chart" data-chart="{esc(chart_id)}" role="img" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg"><title>{esc(caption)}</title>']
    if not bars:
        parts.append(f'<text x="4" y="{bar_height}" class="no-data">no data</text>')
    for index, item in enumerate(bars):
        top = gap + index * (bar_height + gap)
        value, threshold = item.get("value"), item.get("threshold")
        parts.append(f'<text x="0" y="{top + 12}">{esc(str(item["label"])[:32])}</text>')
        if value is None:
            parts.append(f'<text class="no-data" x="{label_width}" y="{top + 12}" fill="#777">no data</text>')
        else:
            over = threshold is not None and value > threshold
            colour = item.get("colour") or ("#c62828" if over else "#2e7d32")
            length = max(0.0, min(1.0, value / scale_max)) * plot
            parts.append(f'<rect class="bar" x="{label_width}" y="{top}" width="{length:.1f}" height="{bar_height}" '
                         f'fill="{esc(colour)}"><title>{esc(item["label"])}: {esc(value)}{esc(unit)}</title></rect>')
            parts.append(f'<text x="{label_width + plot + 6}" y="{top + 12}">{esc(f"{value:g}")}{esc(unit)}</text>')
        if threshold is not None:
            x = label_width + max(0.0, min(1.0, threshold / scale_max)) * plot
            parts.append(f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 2}" y2="{top + bar_height + 2}" '
                         f'stroke="#000" stroke-dasharray="3,2"><title>threshold {esc(threshold)}{esc(unit)}</title></line>')
    parts.append("</svg></figure>")
    return "".join(parts)


def page(title, meta, sections):
    """The whole document; ``meta`` are (label, value) pairs under the title, ``sections`` HTML fragments."""
    meta_html = " \u00b7 ".join(f"{esc(label)}: {esc(value)}" for label, value in meta)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{CSS}</style></head><body>"
            f"<h1>{esc(title)}</h1><p class=\"meta\">{meta_html}</p>{''.join(sections)}</body></html>\n")


def charts(fragments):
    return f'<div class="charts">{"".join(fragments)}</div>' if fragments else ""


# --- SLO objectives (slo_check results; the health check's H3 and the evening summary) ---

def burn_bars(objective):
    """Each burn-rate alert's long and short window against the alert's factor."""
    bars = []
    for burn in objective.get("burn_rates") or []:
        for side in ("long", "short"):
            bars.append({"label": f"{burn.get('severity')} {burn.get(side + '_window')}",
                         "value": number(burn.get(side + "_burn_rate")), "threshold": number(burn.get("factor"))})
    return bars


def slo_charts(objectives, prefix):
    """A burn-rate chart per objective that has burn rates, and one chart of the error budget left."""
    out = []
    for objective in objectives:
        bars = burn_bars(objective)
        if bars:
            out.append(bar_chart(f"{prefix}burn-{objective.get('name')}", f"Burn rates: {objective.get('name')} "
                                 "(dashed line: the alert's factor)", bars, "x"))
    budgets = [{"label": o.get("name"), "value": number((o.get("error_budget") or {}).get("remaining_percent"), 2),
                "colour": "#1565c0"} for o in objectives if (o.get("error_budget") or {}).get("allowed_ratio") is not None]
    if budgets:
        out.append(bar_chart(f"{prefix}budget", "Error budget left (%)", budgets, "%"))
    return out


def slo_chart_ids(objectives, prefix=""):
    """The chart ids slo_charts draws for ``objectives`` (the browser test counts them)."""
    ids = [f"{prefix}burn-{o.get('name')}" for o in objectives if burn_bars(o)]
    if any((o.get("error_budget") or {}).get("allowed_ratio") is not None for o in objectives):
        ids.append(f"{prefix}budget")
    return ids


# --- backups ---

def backup_set_bars(sets):
    """The health check's backup sets (H9): age of the newest verified backup in hours, and total size."""
    ages, sizes = [], []
    for key, info in sorted((sets or {}).items()):
        age = number(info.get("latest_ok_age_seconds"))
        ages.append({"label": key, "value": None if age is None else round(age / 3600.0, 2)})
        size = number(info.get("size"))
        sizes.append({"label": key, "value": None if size is None else round(size / 1048576.0, 3), "colour": "#1565c0"})
    return ages, sizes


# --- the four pages ---

def health_check_rows(result):
    return [(c.get("id"), c.get("title"), c.get("status"), c.get("summary")) for c in result.get("checks") or []]


def health_check_chart_ids(result):
    checks = {c.get("check"): c for c in result.get("checks") or []}
    ids = slo_chart_ids((checks.get("slo") or {}).get("details", {}).get("objectives") or [], "slo-")
    if (checks.get("backups") or {}).get("details", {}).get("sets"):
        ids += ["backup-age", "backup-size"]
    return ids


def health_check_page(result):
    checks = {c.get("check"): c for c in result.get("checks") or []}
    out = slo_charts((checks.get("slo") or {}).get("details", {}).get("objectives") or [], "slo-")
    sets = (checks.get("backups") or {}).get("details", {}).get("sets")
    if sets:
        ages, sizes = backup_set_bars(sets)
        out.append(bar_chart("backup-age", "Backups: age of the newest verified backup (h)", ages, " h"))
        out.append(bar_chart("backup-size", "Backups: stored size per set (MiB)", sizes, " MiB"))
    return page("Daily health check", [("status", result.get("status")), ("environment", result.get("environment")),
                                       ("host", result.get("host")), ("started", result.get("started_at")),
                                       ("finished", result.get("finished_at")), ("check mode", result.get("check_mode"))],
                [status_grid(health_check_rows(result)), "<h2>Charts</h2>" + charts(out) if out else ""])


def _part_status(items, failed_parts, part):
    if part in failed_parts:
        return "failed"
    return "ok" if items else "skipped"


def weekly_rows(result):
    """One row per part of the weekly maintenance, per host result; failures are rows of their own."""
    failures = result.get("failures") or []
    failed = {f.get("part") for f in failures if isinstance(f, dict)}
    rows = []
    for part, key in (("jobs", "jobs"), ("db_maintenance", "db_maintenance"), ("backups", "backups"), ("redis", "redis")):
        items = result.get(key) or []
        rows.append((part, part.replace("_", " "), _part_status(items, failed, part), f"{len(items)} result(s)"))
    for index, failure in enumerate(failures):
        if isinstance(failure, dict):
            rows.append((f"failure-{index + 1}", failure.get("part"), "failed",
                         failure.get("msg") or failure.get("message") or failure.get("cause")))
    for host in result.get("unreachable_or_failed_hosts") or []:
        rows.append((f"host-{host}", host, "failed", "unreachable or failed host"))
    return rows


def vacuum_bars(db_results):
    """Dead tuples before (pg_vacuum's reading) and after (the report read once the run ended) per vacuumed table."""
    bars = []
    for db in db_results or []:
        after = {f"{t.get('schema')}.{t.get('table')}": t.get("n_dead_tup")
                 for t in (db.get("report") or {}).get("dead_tuples") or []}
        for table in db.get("vacuumed") or []:
            name = table.get("name") or f"{table.get('schema')}.{table.get('table')}"
            bars.append({"label": f"{name} before", "value": number(table.get("n_dead_tup")), "colour": "#c62828"})
            bars.append({"label": f"{name} after", "value": number(after.get(name)), "colour": "#2e7d32"})
    return bars


def weekly_backup_bars(backups):
    bars = []
    for run in backups or []:
        for made in run.get("made") or []:
            size = number(made.get("size"))
            bars.append({"label": made.get("name") or made.get("set_key"),
                         "value": None if size is None else round(size / 1048576.0, 3), "colour": "#1565c0"})
    return bars


def weekly_chart_ids(result):
    ids = []
    if vacuum_bars(result.get("db_maintenance")):
        ids.append("vacuum-dead-tuples")
    if weekly_backup_bars(result.get("backups")):
        ids.append("backup-size")
    return ids


def weekly_page(result):
    out = []
    vacuum = vacuum_bars(result.get("db_maintenance"))
    if vacuum:
        out.append(bar_chart("vacuum-dead-tuples", "Vacuum: dead tuples before and after", vacuum))
    sizes = weekly_backup_bars(result.get("backups"))
    if sizes:
        out.append(bar_chart("backup-size", "Backups made: size (MiB)", sizes, " MiB"))
    backups = "".join(
        f"<tr><td>{esc(m.get('name'))}</td><td>{esc(m.get('set_key'))}</td><td>{esc(human_bytes(m.get('size')))}</td>"
        f"<td>{esc(m.get('finished_at'))}</td></tr>" for run in result.get("backups") or [] for m in run.get("made") or [])
    backup_table = ("<h2>Backups made</h2><table><thead><tr><th>backup</th><th>set</th><th>size</th><th>finished</th>"
                    f"</tr></thead><tbody>{backups}</tbody></table>") if backups else ""
    status = "failed" if result.get("failures") or result.get("unreachable_or_failed_hosts") else "ok"
    return page("Weekly maintenance", [("status", status), ("environment", result.get("environment")),
                                       ("hosts", ", ".join(str(h) for h in result.get("hosts") or [])),
                                       ("check mode", result.get("check_mode"))],
                [status_grid(weekly_rows(result), "Parts"), backup_table, "<h2>Charts</h2>" + charts(out) if out else ""])


def slo_rows(result):
    return [(o.get("name"), f"{o.get('sli')}: target {o.get('target')} {o.get('unit') or ''}".rstrip(), o.get("status"),
             o.get("message"))
            for o in (result.get("slo") or {}).get("objectives") or []]


def slo_page_chart_ids(result):
    return slo_chart_ids((result.get("slo") or {}).get("objectives") or [])


def slo_page(result):
    objectives = (result.get("slo") or {}).get("objectives") or []
    metrics = "".join(f"<tr><td>{esc(m.get('name'))}</td><td>{esc(m.get('value'))}</td><td>{esc(m.get('unit'))}</td></tr>"
                      for m in result.get("metrics") or [])
    metric_table = ("<h2>Metrics</h2><table><thead><tr><th>metric</th><th>value</th><th>unit</th></tr></thead>"
                    f"<tbody>{metrics}</tbody></table>") if metrics else ""
    error = f'<p class="none">{esc(result.get("error"))}</p>' if result.get("error") else ""
    out = slo_charts(objectives, "")
    return page("SLO checks (evening summary)", [("date", result.get("date")), ("status", result.get("status")),
                                                 ("environment", result.get("environment")),
                                                 ("window", f"{result.get('window_start')} .. {result.get('window_end')}")],
                [error, status_grid(slo_rows(result), "SLO objectives"), "<h2>Charts</h2>" + charts(out) if out else "",
                 metric_table])


def compliance_rows(result):
    return [(f"{c.get('control')}:{c.get('namespace') or ''}/{c.get('object')}", c.get("control"), c.get("status"),
             c.get("message")) for c in result.get("checks") or []]


def compliance_chart_ids(result):
    return ["compliance-status"] if result.get("checks") else []


def compliance_page(result):
    counts = {}
    for check in result.get("checks") or []:
        counts[check.get("status")] = counts.get(check.get("status"), 0) + 1
    bars = [{"label": status, "value": count, "colour": STATUS_COLOURS.get(str(status), "#455a64")}
            for status, count in sorted(counts.items(), key=lambda item: str(item[0]))]
    out = [bar_chart("compliance-status", "Checks per status", bars)] if bars else []
    return page("Compliance run", [("check mode", result.get("check_mode")),
                                   ("namespaces", ", ".join(str(n) for n in result.get("namespaces") or []))],
                [status_grid(compliance_rows(result), "Controls"), "<h2>Charts</h2>" + charts(out) if out else ""])


RENDERERS = {"health_check": health_check_page, "weekly_maintenance": weekly_page, "slo": slo_page,
             "compliance": compliance_page}
ROWS = {"health_check": health_check_rows, "weekly_maintenance": weekly_rows, "slo": slo_rows,
        "compliance": compliance_rows}
CHART_IDS = {"health_check": health_check_chart_ids, "weekly_maintenance": weekly_chart_ids, "slo": slo_page_chart_ids,
             "compliance": compliance_chart_ids}


def render(result, kind):
    """The HTML page of one run's report; ValueError for an unknown kind or a result that is not a mapping."""
    if kind not in RENDERERS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}.")
    if not isinstance(result, dict):
        raise ValueError(f"The report must be a mapping, not {type(result).__name__}.")
    return RENDERERS[kind](result)
