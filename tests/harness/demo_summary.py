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


SUMMARIZERS = {"db_maintenance": summarize_db_maintenance}


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
