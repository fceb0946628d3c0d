"""The sandbox's platform logic and its SQLite persistence (no HTTP here).

Every public method of :class:`Platform` runs under one lock on one connection, so the
threaded HTTP servers see a consistent database. Failures the API reports are raised as
:class:`ApiError` (status, code, message), which the server turns into the contract's
``{"error": {...}}`` body.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timezone

EXPERIMENT_ID = re.compile(r"^exp-[0-9a-f]{12}$")
QUARANTINE_ID = re.compile(r"^qr-[0-9a-f]{12}$")
STATUSES = ("created", "running", "completed", "failed", "promoted", "quarantined")
ROUTING_STRATEGIES = ("primary", "secondary", "fallback", "ab_split", "ensemble")
# Histogram bucket bounds (seconds) shared by /metrics and the SLO windows of /api/v1/health/slo.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
DEFAULT_WINDOWS = ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")
DEFAULT_CRITERIA = {"min_accuracy": 0.95, "max_error_rate": 0.01, "max_latency_p95_ms": 2000.0, "min_samples": 100}
DEFAULT_SLOS = [
    {"name": "availability", "sli": "availability", "target": 99.9},
    {"name": "error_rate", "sli": "error_rate", "target": 0.1},
    {"name": "latency_p95", "sli": "latency", "quantile": 0.95, "target": 2.0},
]
DEFAULT_ITERATIONS = 100
WINDOW = re.compile(r"^([1-9][0-9]*)([smhd])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_BUCKET_COLUMNS = [f"b{i}" for i in range(len(LATENCY_BUCKETS))]

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS experiments (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, description TEXT, primary_model TEXT NOT NULL,
    secondary_model TEXT, prompt_template TEXT NOT NULL, routing_strategy TEXT NOT NULL, tags TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL, updated_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL REFERENCES experiments(id), status TEXT NOT NULL,
    language TEXT, code_samples TEXT NOT NULL, iterations INTEGER NOT NULL, started_at REAL NOT NULL,
    complete_after_seconds REAL, complete_after_polls INTEGER, polls INTEGER NOT NULL DEFAULT 0,
    completed_at REAL, metrics TEXT, error TEXT);
CREATE TABLE IF NOT EXISTS promotions (
    id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL UNIQUE REFERENCES experiments(id), forced INTEGER NOT NULL,
    evaluation TEXT NOT NULL, metrics TEXT, promoted_at REAL NOT NULL, previous_experiment_id TEXT,
    active INTEGER NOT NULL, request_id TEXT);
CREATE TABLE IF NOT EXISTS quarantine_records (
    id TEXT PRIMARY KEY, experiment_id TEXT NOT NULL UNIQUE REFERENCES experiments(id), experiment_name TEXT NOT NULL,
    reason TEXT NOT NULL, impact_analysis TEXT NOT NULL, metrics_snapshot TEXT, models TEXT NOT NULL,
    quarantined_at REAL NOT NULL, request_id TEXT);
CREATE TABLE IF NOT EXISTS audit_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, api TEXT NOT NULL, action TEXT NOT NULL,
    experiment_id TEXT, request_id TEXT, user_agent TEXT, detail TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outcomes (name TEXT PRIMARY KEY, spec TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS traffic (
    api TEXT NOT NULL, minute INTEGER NOT NULL, requests REAL NOT NULL DEFAULT 0, errors REAL NOT NULL DEFAULT 0,
    {", ".join(f"{c} REAL NOT NULL DEFAULT 0" for c in _BUCKET_COLUMNS)},
    PRIMARY KEY (api, minute));
"""


class ApiError(Exception):
    """An error the API answers with: HTTP status, machine code, one-sentence message, details."""

    def __init__(self, status, code, message, details=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def iso(ts):
    """RFC 3339 UTC text for a unix time (None stays None)."""
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def window_seconds(text):
    match = WINDOW.match(text or "")
    if not match:
        raise ApiError(400, "invalid_window", f"{text!r} is not a window; use a number and one of s, m, h, d (5m, 1h, 30d).")
    return int(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _new_id(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def _dumps(value):
    return json.dumps(value, sort_keys=True)


def _loads(text, default=None):
    return default if text is None else json.loads(text)


def quantile_from_buckets(quantile, cumulative):
    """histogram_quantile over (bound, cumulative count) pairs ending with +Inf (None when empty)."""
    total = cumulative[-1][1] if cumulative else 0
    if total <= 0:
        return None
    rank = quantile * total
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in cumulative:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            width = count - previous_count
            return bound if width <= 0 else previous_bound + (bound - previous_bound) * (rank - previous_count) / width
        previous_bound, previous_count = bound, count
    return previous_bound


class Platform:
    """The three APIs' behaviour over one SQLite database."""

    def __init__(self, db_path, criteria=None, run_seconds=2.0, slos=None, clock=time.time):
        self.db_path = str(db_path)
        self.criteria = dict(DEFAULT_CRITERIA, **(criteria or {}))
        self.run_seconds = float(run_seconds)
        self.slos = slos or DEFAULT_SLOS
        self._real_clock = clock
        self._pinned = None
        self.started = clock()
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.db_path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)

    def close(self):
        with self.lock:
            self.db.close()

    # ------------------------------------------------------------------ helpers
    def clock(self):
        """Now, or the time pinned by the clock test control (SLO windows then stop moving)."""
        return self._pinned if self._pinned is not None else self._real_clock()

    def set_clock(self, spec):
        now = spec.get("now")
        if now is not None and (isinstance(now, bool) or not isinstance(now, (int, float))):
            raise ApiError(400, "validation_error", "now must be unix seconds, or null to follow the real clock.")
        self._pinned = None if now is None else float(now)
        return {"now": iso(self.clock()), "pinned": self._pinned is not None}

    def _tx(self):
        return _Transaction(self.db)

    def _audit(self, api, action, experiment_id, ctx, detail):
        self.db.execute("INSERT INTO audit_events (ts, api, action, experiment_id, request_id, user_agent, detail) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (self.clock(), api, action, experiment_id, ctx.get("request_id"), ctx.get("user_agent"),
                         _dumps(detail)))

    def ping(self):
        with self.lock:
            self.db.execute("SELECT 1").fetchone()
        return "ok"

    def _row(self, experiment_id):
        if not EXPERIMENT_ID.match(experiment_id or ""):
            raise ApiError(400, "invalid_id", f"{experiment_id!r} is not an experiment id "
                                              "(expected exp- followed by 12 hexadecimal digits).")
        row = self.db.execute("SELECT * FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
        if row is None:
            raise ApiError(404, "not_found", f"Experiment {experiment_id} does not exist.")
        return row

    def _latest_run(self, experiment_id, status=None):
        query = "SELECT * FROM runs WHERE experiment_id = ?"
        args = [experiment_id]
        if status:
            query += " AND status = ?"
            args.append(status)
        return self.db.execute(query + " ORDER BY started_at DESC, rowid DESC LIMIT 1", args).fetchone()

    def _run_json(self, row):
        if row is None:
            return None
        return {"id": row["id"], "experiment_id": row["experiment_id"], "status": row["status"],
                "language": row["language"], "code_samples": len(_loads(row["code_samples"], [])),
                "iterations": row["iterations"], "started_at": iso(row["started_at"]),
                "completed_at": iso(row["completed_at"]), "metrics": _loads(row["metrics"]), "error": row["error"]}

    def _experiment_json(self, row):
        latest = self._latest_run(row["id"])
        completed = self._latest_run(row["id"], "completed")
        runs = self.db.execute("SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (row["id"],)).fetchone()[0]
        promotion = self.db.execute("SELECT * FROM promotions WHERE experiment_id = ?", (row["id"],)).fetchone()
        record = self.db.execute("SELECT * FROM quarantine_records WHERE experiment_id = ?", (row["id"],)).fetchone()
        return {
            "id": row["id"], "name": row["name"], "description": row["description"],
            "primary_model": row["primary_model"], "secondary_model": row["secondary_model"],
            "prompt_template": row["prompt_template"], "routing_strategy": row["routing_strategy"],
            "tags": _loads(row["tags"], []), "status": row["status"],
            "created_at": iso(row["created_at"]), "updated_at": iso(row["updated_at"]),
            "metrics": _loads(completed["metrics"]) if completed else None,
            "latest_run": self._run_json(latest), "runs_count": runs,
            "promotion": self._promotion_json(promotion) if promotion else None,
            "quarantine": self._record_json(record) if record else None,
        }

    # ------------------------------------------------------------------ runs
    def _advance(self, experiment_id, poll):
        """Complete the experiment's running run once its polls or its time are up."""
        run = self._latest_run(experiment_id, "running")
        if run is None:
            return
        polls = run["polls"] + (1 if poll else 0)
        if poll:
            self.db.execute("UPDATE runs SET polls = ? WHERE id = ?", (polls, run["id"]))
        by_polls = run["complete_after_polls"] is not None and polls >= run["complete_after_polls"]
        by_time = run["complete_after_seconds"] is not None and self.clock() >= run["started_at"] + run["complete_after_seconds"]
        if not (by_polls or by_time):
            return
        experiment = self.db.execute("SELECT * FROM experiments WHERE id = ?", (experiment_id,)).fetchone()
        outcome = self._outcome(experiment)
        now = self.clock()
        with self._tx():
            if outcome.get("fail"):
                error = outcome.get("error") or "the model provider returned errors for every sample"
                self.db.execute("UPDATE runs SET status = 'failed', completed_at = ?, error = ? WHERE id = ?",
                                (now, error, run["id"]))
                self.db.execute("UPDATE experiments SET status = 'failed', updated_at = ? WHERE id = ?", (now, experiment_id))
                self._audit("v1", "run.failed", experiment_id, {}, {"run_id": run["id"], "error": error})
            else:
                metrics = self._metrics(experiment, run, outcome)
                self.db.execute("UPDATE runs SET status = 'completed', completed_at = ?, metrics = ? WHERE id = ?",
                                (now, _dumps(metrics), run["id"]))
                self.db.execute("UPDATE experiments SET status = 'completed', updated_at = ? WHERE id = ?",
                                (now, experiment_id))
                self._audit("v1", "run.completed", experiment_id, {}, {"run_id": run["id"], "metrics": metrics})

    def _outcome(self, experiment):
        row = self.db.execute("SELECT spec FROM outcomes WHERE name = ?", (experiment["name"],)).fetchone()
        return _loads(row["spec"], {}) if row else {}

    @staticmethod
    def _metrics(experiment, run, outcome):
        """Deterministic metrics from the experiment's definition, overridden by a registered outcome."""
        seed = hashlib.sha256("|".join((experiment["name"], experiment["primary_model"],
                                        experiment["prompt_template"])).encode()).digest()
        u = [b / 255.0 for b in seed[:5]]
        p50 = round(300 + 700 * u[2], 1)
        metrics = {
            "accuracy": round(0.90 + 0.09 * u[0], 4),
            "error_rate": round(0.02 * u[1], 5),
            "latency_p50_ms": p50,
            "latency_p95_ms": round(p50 * 2.2, 1),
            "latency_p99_ms": round(p50 * 3.0, 1),
            "tokens_per_request": int(400 + 800 * u[3]),
            "sample_count": len(_loads(run["code_samples"], [])) * run["iterations"],
        }
        metrics.update(outcome.get("metrics") or {})
        return metrics

    # ------------------------------------------------------------------ V1: experiments
    def create_experiment(self, body, ctx):
        with self.lock:
            fields = _validate_experiment(body)
            existing = self.db.execute("SELECT id FROM experiments WHERE name = ?", (fields["name"],)).fetchone()
            if existing:
                raise ApiError(409, "conflict", f"An experiment named {fields['name']!r} already exists.",
                               {"experiment_id": existing["id"]})
            now = self.clock()
            experiment_id = _new_id("exp")
            with self._tx():
                self.db.execute(
                    "INSERT INTO experiments (id, name, description, primary_model, secondary_model, prompt_template, "
                    "routing_strategy, tags, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'created', ?, ?)",
                    (experiment_id, fields["name"], fields["description"], fields["primary_model"],
                     fields["secondary_model"], fields["prompt_template"], fields["routing_strategy"],
                     _dumps(fields["tags"]), now, now))
                self._audit("v1", "experiment.create", experiment_id, ctx, {"name": fields["name"]})
            return self._experiment_json(self._row(experiment_id))

    def list_experiments(self, name=None, status=None, limit=100, offset=0):
        with self.lock:
            if status and status not in STATUSES:
                raise ApiError(400, "invalid_status", f"{status!r} is not an experiment status ({', '.join(STATUSES)}).")
            where, args = [], []
            if name:
                where.append("name = ?")
                args.append(name)
            clause = (" WHERE " + " AND ".join(where)) if where else ""
            ids = [r["id"] for r in self.db.execute(f"SELECT id FROM experiments{clause} ORDER BY created_at, rowid", args)]
            for experiment_id in ids:
                self._advance(experiment_id, poll=False)
            rows = [self._row(i) for i in ids]
            if status:
                rows = [r for r in rows if r["status"] == status]
            page = rows[offset:offset + limit]
            return {"experiments": [self._experiment_json(r) for r in page], "total": len(rows),
                    "limit": limit, "offset": offset}

    def get_experiment(self, experiment_id):
        with self.lock:
            self._row(experiment_id)
            self._advance(experiment_id, poll=True)
            return self._experiment_json(self._row(experiment_id))

    def start_run(self, experiment_id, body, ctx):
        with self.lock:
            row = self._row(experiment_id)
            self._advance(experiment_id, poll=False)
            row = self._row(experiment_id)
            if row["status"] == "running":
                raise ApiError(409, "run_in_progress", f"Experiment {experiment_id} already has a run in progress.",
                               {"run_id": self._latest_run(experiment_id, "running")["id"]})
            if row["status"] in ("promoted", "quarantined"):
                raise ApiError(409, f"experiment_{row['status']}",
                               f"Experiment {experiment_id} is {row['status']} and cannot run again.")
            samples = body.get("code_samples")
            if not isinstance(samples, list) or not samples or not all(isinstance(s, str) for s in samples):
                raise ApiError(400, "validation_error", "code_samples must be a non-empty list of strings.",
                               {"field": "code_samples"})
            language = body.get("language", "python")
            if not isinstance(language, str) or not language:
                raise ApiError(400, "validation_error", "language must be a non-empty string.", {"field": "language"})
            iterations = body.get("iterations", DEFAULT_ITERATIONS)
            if not isinstance(iterations, int) or isinstance(iterations, bool) or not 1 <= iterations <= 10000:
                raise ApiError(400, "validation_error", "iterations must be an integer from 1 to 10000.",
                               {"field": "iterations"})
            outcome = self._outcome(row)
            polls = outcome.get("run_polls")
            seconds = outcome.get("run_seconds", None if polls is not None else self.run_seconds)
            now = self.clock()
            run_id = _new_id("run")
            with self._tx():
                self.db.execute(
                    "INSERT INTO runs (id, experiment_id, status, language, code_samples, iterations, started_at, "
                    "complete_after_seconds, complete_after_polls) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (run_id, experiment_id, language, _dumps(samples), iterations, now, seconds, polls))
                self.db.execute("UPDATE experiments SET status = 'running', updated_at = ? WHERE id = ?", (now, experiment_id))
                self._audit("v1", "experiment.run", experiment_id, ctx, {"run_id": run_id, "code_samples": len(samples)})
            run = self._run_json(self._latest_run(experiment_id))
            run["estimated_completion"] = iso(now + seconds) if seconds is not None else None
            return run

    # ------------------------------------------------------------------ V1: evaluation
    def _evaluate(self, row):
        metrics = None
        completed = self._latest_run(row["id"], "completed")
        if completed:
            metrics = _loads(completed["metrics"])
        metrics = metrics or {}
        c = self.criteria
        checks = []
        for criterion, metric, op in (("min_accuracy", "accuracy", ">="), ("max_error_rate", "error_rate", "<="),
                                      ("max_latency_p95_ms", "latency_p95_ms", "<="), ("min_samples", "sample_count", ">=")):
            threshold = c.get(criterion)
            if threshold is None:
                continue
            value = metrics.get(metric)
            passed = value is not None and (value >= threshold if op == ">=" else value <= threshold)
            checks.append({"criterion": criterion, "metric": metric, "operator": op, "threshold": threshold,
                           "value": value, "passed": passed})
        return {"experiment_id": row["id"], "status": row["status"], "criteria": dict(c), "checks": checks,
                "eligible": bool(checks) and all(ch["passed"] for ch in checks) and bool(metrics),
                "has_metrics": bool(metrics), "evaluated_at": iso(self.clock())}

    def evaluation(self, experiment_id):
        with self.lock:
            self._row(experiment_id)
            self._advance(experiment_id, poll=False)
            return self._evaluate(self._row(experiment_id))

    def promote(self, experiment_id, force, ctx):
        with self.lock:
            self._row(experiment_id)
            self._advance(experiment_id, poll=False)
            row = self._row(experiment_id)
            if row["status"] == "promoted":
                promotion = self.db.execute("SELECT * FROM promotions WHERE experiment_id = ?", (experiment_id,)).fetchone()
                return 200, {"promotion": self._promotion_json(promotion), "experiment": self._experiment_json(row),
                             "already_promoted": True}
            if row["status"] == "quarantined":
                raise ApiError(409, "experiment_quarantined", f"Experiment {experiment_id} is quarantined and cannot be promoted.")
            if row["status"] == "running":
                raise ApiError(409, "run_in_progress", f"Experiment {experiment_id} has a run in progress; promote it when the run completes.")
            evaluation = self._evaluate(row)
            if not force and not evaluation["eligible"]:
                failed = [ch for ch in evaluation["checks"] if not ch["passed"]]
                text = "; ".join(f"{ch['metric']} {'is missing' if ch['value'] is None else ch['value']} "
                                 f"(needs {ch['operator']} {ch['threshold']})" for ch in failed) or "no completed run"
                raise ApiError(422, "promotion_rejected", f"Experiment {experiment_id} does not meet the promotion criteria: {text}.",
                               {"evaluation": evaluation})
            now = self.clock()
            previous = self.db.execute("SELECT experiment_id FROM promotions WHERE active = 1").fetchone()
            promotion_id = _new_id("prm")
            with self._tx():
                self.db.execute("UPDATE promotions SET active = 0 WHERE active = 1")
                self.db.execute(
                    "INSERT INTO promotions (id, experiment_id, forced, evaluation, metrics, promoted_at, "
                    "previous_experiment_id, active, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)",
                    (promotion_id, experiment_id, int(bool(force)), _dumps(evaluation),
                     _dumps(self._experiment_json(row)["metrics"]), now,
                     previous["experiment_id"] if previous else None, ctx.get("request_id")))
                self.db.execute("UPDATE experiments SET status = 'promoted', updated_at = ? WHERE id = ?", (now, experiment_id))
                self._audit("v1", "experiment.promote", experiment_id, ctx,
                            {"promotion_id": promotion_id, "forced": bool(force), "eligible": evaluation["eligible"]})
            promotion = self.db.execute("SELECT * FROM promotions WHERE id = ?", (promotion_id,)).fetchone()
            return 201, {"promotion": self._promotion_json(promotion), "experiment": self._experiment_json(self._row(experiment_id)),
                         "already_promoted": False}

    def _promotion_json(self, row):
        experiment = self.db.execute("SELECT name, primary_model FROM experiments WHERE id = ?", (row["experiment_id"],)).fetchone()
        return {"id": row["id"], "experiment_id": row["experiment_id"], "experiment_name": experiment["name"],
                "model": experiment["primary_model"], "forced": bool(row["forced"]), "promoted_at": iso(row["promoted_at"]),
                "evaluation": _loads(row["evaluation"]), "metrics": _loads(row["metrics"]),
                "previous_experiment_id": row["previous_experiment_id"], "active": bool(row["active"]),
                "namespace": "platform-v2-stable", "request_id": row["request_id"]}

    def quarantine(self, experiment_id, body, ctx):
        with self.lock:
            self._row(experiment_id)
            self._advance(experiment_id, poll=False)
            row = self._row(experiment_id)
            if row["status"] == "quarantined":
                record = self.db.execute("SELECT * FROM quarantine_records WHERE experiment_id = ?", (experiment_id,)).fetchone()
                return 200, {"record": self._record_json(record), "experiment": self._experiment_json(row),
                             "already_quarantined": True}
            if row["status"] == "promoted":
                raise ApiError(409, "experiment_promoted", f"Experiment {experiment_id} is promoted to V2; "
                                                           "roll V2 back before quarantining it.")
            reason = body.get("reason")
            if not isinstance(reason, str) or not reason.strip() or len(reason) > 2000:
                raise ApiError(400, "validation_error", "reason must be a non-empty string of at most 2000 characters.",
                               {"field": "reason"})
            impact = body.get("impact_analysis", {})
            if not isinstance(impact, dict):
                raise ApiError(400, "validation_error", "impact_analysis must be a JSON object.", {"field": "impact_analysis"})
            now = self.clock()
            record_id = _new_id("qr")
            experiment = self._experiment_json(row)
            models = [m for m in (row["primary_model"], row["secondary_model"]) if m]
            with self._tx():
                running = self._latest_run(experiment_id, "running")
                if running:
                    self.db.execute("UPDATE runs SET status = 'failed', completed_at = ?, error = ? WHERE id = ?",
                                    (now, "cancelled by quarantine", running["id"]))
                self.db.execute(
                    "INSERT INTO quarantine_records (id, experiment_id, experiment_name, reason, impact_analysis, "
                    "metrics_snapshot, models, quarantined_at, request_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (record_id, experiment_id, row["name"], reason.strip(), _dumps(impact), _dumps(experiment["metrics"]),
                     _dumps(models), now, ctx.get("request_id")))
                self.db.execute("UPDATE experiments SET status = 'quarantined', updated_at = ? WHERE id = ?", (now, experiment_id))
                self._audit("v1", "experiment.quarantine", experiment_id, ctx, {"record_id": record_id, "reason": reason.strip()})
            record = self.db.execute("SELECT * FROM quarantine_records WHERE id = ?", (record_id,)).fetchone()
            return 201, {"record": self._record_json(record), "experiment": self._experiment_json(self._row(experiment_id)),
                         "already_quarantined": False}

    def audit_events(self, experiment_id=None, action=None, limit=100):
        with self.lock:
            where, args = [], []
            if experiment_id:
                where.append("experiment_id = ?")
                args.append(experiment_id)
            if action:
                where.append("action = ?")
                args.append(action)
            clause = (" WHERE " + " AND ".join(where)) if where else ""
            rows = self.db.execute(f"SELECT * FROM audit_events{clause} ORDER BY id DESC LIMIT ?", args + [limit]).fetchall()
            return {"events": [{"id": r["id"], "timestamp": iso(r["ts"]), "api": r["api"], "action": r["action"],
                                "experiment_id": r["experiment_id"], "request_id": r["request_id"],
                                "user_agent": r["user_agent"], "detail": _loads(r["detail"], {})} for r in rows]}

    # ------------------------------------------------------------------ V3: quarantine
    def _record_json(self, row):
        return {"id": row["id"], "experiment_id": row["experiment_id"], "experiment_name": row["experiment_name"],
                "reason": row["reason"], "impact_analysis": _loads(row["impact_analysis"], {}),
                "metrics_snapshot": _loads(row["metrics_snapshot"]), "models": _loads(row["models"], []),
                "quarantined_at": iso(row["quarantined_at"]), "request_id": row["request_id"]}

    def quarantine_records(self, experiment_id=None, limit=100, offset=0):
        with self.lock:
            clause, args = ("WHERE experiment_id = ?", [experiment_id]) if experiment_id else ("", [])
            total = self.db.execute(f"SELECT COUNT(*) FROM quarantine_records {clause}", args).fetchone()[0]
            rows = self.db.execute(f"SELECT * FROM quarantine_records {clause} ORDER BY quarantined_at DESC, rowid DESC "
                                   "LIMIT ? OFFSET ?", args + [limit, offset]).fetchall()
            return {"records": [self._record_json(r) for r in rows], "total": total, "limit": limit, "offset": offset}

    def quarantine_record(self, record_id):
        with self.lock:
            if not QUARANTINE_ID.match(record_id or ""):
                raise ApiError(400, "invalid_id", f"{record_id!r} is not a quarantine record id "
                                                  "(expected qr- followed by 12 hexadecimal digits).")
            row = self.db.execute("SELECT * FROM quarantine_records WHERE id = ?", (record_id,)).fetchone()
            if row is None:
                raise ApiError(404, "not_found", f"Quarantine record {record_id} does not exist.")
            return self._record_json(row)

    def quarantine_statistics(self):
        with self.lock:
            rows = self.db.execute("SELECT * FROM quarantine_records ORDER BY quarantined_at").fetchall()
            now = self.clock()
            by_model, by_reason = {}, {}
            for row in rows:
                for model in _loads(row["models"], []):
                    by_model[model] = by_model.get(model, 0) + 1
                category = re.sub(r"\s*\([^)]*\)", "", row["reason"]).strip().rstrip(".").lower() or "unspecified"
                by_reason[category] = by_reason.get(category, 0) + 1
            return {
                "total_records": len(rows),
                "last_24h": sum(1 for r in rows if r["quarantined_at"] >= now - 86400),
                "last_7d": sum(1 for r in rows if r["quarantined_at"] >= now - 7 * 86400),
                "by_model": by_model,
                "by_reason": [{"reason": k, "count": v} for k, v in sorted(by_reason.items(), key=lambda i: (-i[1], i[0]))],
                "first_quarantined_at": iso(rows[0]["quarantined_at"]) if rows else None,
                "last_quarantined_at": iso(rows[-1]["quarantined_at"]) if rows else None,
                "generated_at": iso(now),
            }

    # ------------------------------------------------------------------ V2: production
    def active_deployment(self):
        with self.lock:
            row = self.db.execute("SELECT * FROM promotions WHERE active = 1").fetchone()
            return self._promotion_json(row) if row else None

    def deployments(self):
        with self.lock:
            rows = self.db.execute("SELECT * FROM promotions ORDER BY promoted_at DESC, rowid DESC").fetchall()
            items = [self._promotion_json(r) for r in rows]
            return {"active": next((i for i in items if i["active"]), None), "deployments": items}

    def models(self):
        with self.lock:
            active = self.db.execute("SELECT experiment_id FROM promotions WHERE active = 1").fetchone()
            models = {}
            for row in self.db.execute("SELECT * FROM experiments ORDER BY created_at"):
                entry = models.setdefault(row["primary_model"], {
                    "model": row["primary_model"], "experiments": 0, "running": 0, "completed": 0, "promoted": 0,
                    "quarantined": 0, "active": False, "_acc": [], "_p95": [], "_err": []})
                entry["experiments"] += 1
                if row["status"] in ("running", "completed", "promoted", "quarantined"):
                    entry[row["status"]] += 1
                if active and active["experiment_id"] == row["id"]:
                    entry["active"] = True
                run = self._latest_run(row["id"], "completed")
                metrics = _loads(run["metrics"], {}) if run else {}
                for key, name in (("_acc", "accuracy"), ("_p95", "latency_p95_ms"), ("_err", "error_rate")):
                    if isinstance(metrics.get(name), (int, float)):
                        entry[key].append(metrics[name])
            result = []
            for entry in models.values():
                for key, name in (("_acc", "accuracy"), ("_p95", "latency_p95_ms"), ("_err", "error_rate")):
                    values = entry.pop(key)
                    entry[f"avg_{name}"] = round(sum(values) / len(values), 6) if values else None
                result.append(entry)
            return {"models": result, "generated_at": iso(self.clock())}

    # ------------------------------------------------------------------ SLO data
    def record_request(self, api, seconds, status):
        """Count one served request in its minute (what /api/v1/health/slo reports)."""
        minute = int(self.clock() // 60)
        values = [1.0 if seconds <= bound else 0.0 for bound in LATENCY_BUCKETS]
        self._add_traffic_row(api, minute, 1.0, 1.0 if status >= 500 else 0.0, values)

    def _add_traffic_row(self, api, minute, requests, errors, buckets):
        with self.lock:
            sets = ", ".join(f"{c} = {c} + excluded.{c}" for c in _BUCKET_COLUMNS)
            self.db.execute(
                f"INSERT INTO traffic (api, minute, requests, errors, {', '.join(_BUCKET_COLUMNS)}) "
                f"VALUES (?, ?, ?, ?, {', '.join('?' for _column in _BUCKET_COLUMNS)}) "
                f"ON CONFLICT(api, minute) DO UPDATE SET requests = requests + excluded.requests, "
                f"errors = errors + excluded.errors, {sets}",
                [api, minute, requests, errors, *buckets])

    def add_traffic(self, spec):
        """Synthetic traffic for the SLO windows (test control): a constant rate over a span of minutes.

        ``spec``: api (v2), from_minutes_ago, to_minutes_ago (0: the current minute),
        requests_per_minute, error_ratio, and either latency_seconds (every request) or
        latency_distribution ({bound: cumulative share}, bounds from LATENCY_BUCKETS or "+Inf").
        """
        api = spec.get("api", "v2")
        start = int(spec.get("from_minutes_ago", 60))
        end = int(spec.get("to_minutes_ago", 0))
        rate = float(spec.get("requests_per_minute", 100))
        error_ratio = float(spec.get("error_ratio", 0.0))
        if api not in ("v1", "v2", "v3") or start < end or rate < 0 or not 0 <= error_ratio <= 1:
            raise ApiError(400, "validation_error", "traffic needs api v1/v2/v3, from_minutes_ago >= to_minutes_ago, "
                                                    "requests_per_minute >= 0 and error_ratio in [0, 1].")
        shares = self._bucket_shares(spec)
        now_minute = int(self.clock() // 60)
        with self.lock, self._tx():
            for ago in range(end, start + 1):
                self._add_traffic_row(api, now_minute - ago, rate, rate * error_ratio, [rate * s for s in shares])
        return {"api": api, "minutes": start - end + 1, "requests": rate * (start - end + 1)}

    @staticmethod
    def _bucket_shares(spec):
        if "latency_distribution" in spec:
            dist = {float(k): float(v) for k, v in spec["latency_distribution"].items() if k not in ("+Inf", "inf")}
            shares, last = [], 0.0
            for bound in LATENCY_BUCKETS:
                last = max(last, dist.get(bound, last))
                shares.append(min(last, 1.0))
            return shares
        latency = float(spec.get("latency_seconds", 0.05))
        return [1.0 if latency <= bound else 0.0 for bound in LATENCY_BUCKETS]

    def window_counts(self, api, seconds):
        with self.lock:
            now_minute = int(self.clock() // 60)
            minutes = max(1, math.ceil(seconds / 60))
            row = self.db.execute(
                f"SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(errors), 0), "
                f"{', '.join(f'COALESCE(SUM({c}), 0)' for c in _BUCKET_COLUMNS)} "
                f"FROM traffic WHERE api = ? AND minute > ?", (api, now_minute - minutes)).fetchone()
            requests, errors = row[0], row[1]
            cumulative = [(bound, row[2 + i]) for i, bound in enumerate(LATENCY_BUCKETS)] + [(math.inf, requests)]
            return requests, errors, cumulative

    def health_slo(self, windows=None, main_window="30d"):
        labels = list(windows or DEFAULT_WINDOWS)
        if main_window not in labels:
            labels.append(main_window)
        data = {}
        for label in labels:
            requests, errors, cumulative = self.window_counts("v2", window_seconds(label))
            data[label] = {
                "requests": round(requests, 3), "errors": round(errors, 3),
                "latency_buckets": [{"le": "+Inf" if math.isinf(b) else f"{b:g}", "count": round(c, 3)} for b, c in cumulative],
            }
        objectives = [self._objective(slo, data[main_window]) for slo in self.slos]
        return {"service": "platform-v2-api", "window": main_window, "generated_at": iso(self.clock()),
                "compliant": all(o["status"] != "breached" for o in objectives),
                "objectives": objectives, "windows": data,
                "latency_bucket_bounds": [f"{b:g}" for b in LATENCY_BUCKETS] + ["+Inf"]}

    @staticmethod
    def _objective(slo, window):
        requests, errors = window["requests"], window["errors"]
        result = dict(slo)
        if requests <= 0:
            result.update(actual=None, status="no_data", error_budget_remaining=None)
            return result
        if slo["sli"] in ("availability", "error_rate"):
            bad = errors / requests
            allowed = (1 - slo["target"] / 100) if slo["sli"] == "availability" else slo["target"] / 100
            actual = (1 - bad) * 100 if slo["sli"] == "availability" else bad * 100
        else:
            cumulative = [(math.inf if b["le"] == "+Inf" else float(b["le"]), b["count"]) for b in window["latency_buckets"]]
            actual = quantile_from_buckets(slo["quantile"], cumulative)
            allowed = 1 - slo["quantile"]
            below = next((c for b, c in cumulative if b >= slo["target"]), requests)
            bad = (requests - below) / requests
        remaining = 1 - bad / allowed
        result.update(actual=None if actual is None else round(actual, 6), error_budget_remaining=round(remaining, 6),
                      status="breached" if remaining < 0 else "ok")
        return result

    def slo_compliance(self, window="30d"):
        seconds = window_seconds(window)
        slo = self.health_slo(windows=[window], main_window=window)
        with self.lock:
            now_minute = int(self.clock() // 60)
            first = now_minute - max(1, math.ceil(seconds / 60))
            rows = self.db.execute(
                f"SELECT minute / 1440 AS day, SUM(requests), SUM(errors), {', '.join(f'SUM({c})' for c in _BUCKET_COLUMNS)} "
                "FROM traffic WHERE api = 'v2' AND minute > ? GROUP BY day ORDER BY day", (first,)).fetchall()
        daily = []
        for row in rows:
            requests, errors = row[1], row[2]
            cumulative = [(b, row[3 + i]) for i, b in enumerate(LATENCY_BUCKETS)] + [(math.inf, requests)]
            p95 = quantile_from_buckets(0.95, cumulative)
            daily.append({"date": datetime.fromtimestamp(row[0] * 86400, tz=timezone.utc).date().isoformat(),
                          "requests": round(requests, 3), "errors": round(errors, 3),
                          "availability": round((1 - errors / requests) * 100, 6) if requests else None,
                          "latency_p95_seconds": None if p95 is None else round(p95, 6)})
        now = self.clock()
        return {"service": "platform-v2-api", "window": window, "period_start": iso(now - seconds), "period_end": iso(now),
                "compliant": slo["compliant"], "objectives": slo["objectives"], "daily": daily}

    # ------------------------------------------------------------------ test controls
    def set_outcome(self, spec):
        name = spec.get("name")
        if not isinstance(name, str) or not name:
            raise ApiError(400, "validation_error", "An outcome needs the experiment name it applies to.")
        stored = {k: spec[k] for k in ("metrics", "fail", "error", "run_polls", "run_seconds") if k in spec}
        with self.lock:
            self.db.execute("INSERT INTO outcomes (name, spec) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET spec = excluded.spec",
                            (name, _dumps(stored)))
        return {"name": name, **stored}

    def reset(self):
        with self.lock, self._tx():
            for table in ("audit_events", "quarantine_records", "promotions", "runs", "experiments", "outcomes", "traffic"):
                self.db.execute(f"DELETE FROM {table}")
        return {"reset": True}

    def gauges(self):
        """Values for the /metrics gauges: experiments by status, quarantine records, active deployment."""
        with self.lock:
            by_status = {s: 0 for s in STATUSES}
            for row in self.db.execute("SELECT status, COUNT(*) AS n FROM experiments GROUP BY status"):
                by_status[row["status"]] = row["n"]
            records = self.db.execute("SELECT COUNT(*) FROM quarantine_records").fetchone()[0]
            active = self.db.execute("SELECT experiment_id FROM promotions WHERE active = 1").fetchone()
            return {"experiments": by_status, "quarantine_records": records,
                    "active_experiment": active["experiment_id"] if active else None}


class _Transaction:
    """BEGIN ... COMMIT (ROLLBACK on error) on an autocommit connection; nests as a no-op."""

    def __init__(self, db):
        self.db = db
        self.outer = False

    def __enter__(self):
        if not self.db.in_transaction:
            self.db.execute("BEGIN IMMEDIATE")
            self.outer = True
        return self

    def __exit__(self, kind, value, tb):
        if self.outer:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        return False


def _validate_experiment(body):
    def text(field, required=False, limit=200):
        value = body.get(field)
        if value is None or value == "":
            if required:
                raise ApiError(400, "validation_error", f"{field} is required.", {"field": field})
            return None
        if not isinstance(value, str) or len(value) > limit:
            raise ApiError(400, "validation_error", f"{field} must be a string of at most {limit} characters.", {"field": field})
        return value

    fields = {
        "name": text("name", required=True),
        "description": text("description", limit=2000),
        "primary_model": text("primary_model", required=True),
        "secondary_model": text("secondary_model"),
        "prompt_template": text("prompt_template", required=True, limit=20000),
        "routing_strategy": text("routing_strategy") or "primary",
    }
    if fields["routing_strategy"] not in ROUTING_STRATEGIES:
        raise ApiError(400, "validation_error", f"routing_strategy must be one of {', '.join(ROUTING_STRATEGIES)}.",
                       {"field": "routing_strategy"})
    tags = body.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ApiError(400, "validation_error", "tags must be a list of strings.", {"field": "tags"})
    fields["tags"] = tags
    return fields
