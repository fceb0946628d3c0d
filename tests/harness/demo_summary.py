"""Print a short, human summary of the JSON reports a demo run wrote."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def summarize_db_maintenance(data: dict) -> list[str]:
    lines = [f"database {data.get('database')} on {data.get('host')}"
             f"{' (check mode: nothing changed)' if data.get('check_mode') else ''}"]
    vacuumed = data.get("vacuumed") or []
    lines.append(f"  vacuumed {len(vacuumed)} table(s): "
                 + (", ".join(f"{t.get('schema')}.{t.get('table')}" for t in vacuumed) or "none"))
    lines.append(f"  analyzed {len(data.get('analyzed') or [])} table(s), "
                 f"terminated {len(data.get('terminated_sessions') or [])} idle session(s)")
    return lines


def summarize_weekly(data: dict) -> list[str]:
    lines = [f"weekly maintenance ({data.get('environment')}): "
             f"{'no part failed' if not data.get('failures') else 'FAILED: ' + ', '.join(f['part'] for f in data['failures'])}"]
    for job in data.get("jobs") or []:
        lines.append(f"  jobs: {job.get('succeeded')} succeeded, {job.get('failed')} failed")
    for backup in data.get("backups") or []:
        lines.append(f"  backups: {backup.get('made_count')} made, {len(backup.get('pruned') or [])} pruned")
    for rds in data.get("redis") or []:
        sweep = rds.get("ttl_sweep") or {}
        lines.append(f"  redis: {sweep.get('updated', 0)} keys given a TTL")
    return lines


def summarize_health(data: dict) -> list[str]:
    lines = [f"health check: {data.get('status')}"]
    for check in data.get("checks") or []:
        if isinstance(check, dict) and check.get("status") not in ("ok", None):
            lines.append(f"  {check.get('id', check.get('name'))}: {check.get('status')} - {check.get('summary', '')}")
    return lines


SUMMARIZERS = {"db_maintenance": summarize_db_maintenance, "weekly_maintenance": summarize_weekly,
               "health_check": summarize_health}


def main(report_dir: str) -> int:
    for path in sorted(Path(report_dir).glob("*.json")):
        kind = path.stem.split("-", 1)[0]
        summarize = SUMMARIZERS.get(kind)
        if summarize:
            print(f"{path.name}:")
            print("\n".join(summarize(json.loads(path.read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "reports/local"))
