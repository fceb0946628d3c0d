#!/usr/bin/env bash
# `make bench`: run every benchmark in bench/ against one set of local services and print
# their JSON lines (ratios against the runbooks' baselines). BENCH=name runs just one.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
export SRE_SERVICES_DIR="${SRE_SERVICES_DIR:-$(mktemp -d /tmp/sre-bench-XXXXXX)}"
mkdir -p "$SRE_SERVICES_DIR"  # the Makefile exports a folder nobody has created yet on a fresh checkout
chmod 755 "$SRE_SERVICES_DIR"
trap 'python -m tests.harness.services down "$SRE_SERVICES_DIR" >/dev/null' EXIT
python -m tests.harness.services up "$SRE_SERVICES_DIR" >/dev/null
export SRE_SERVICES_FILE="$SRE_SERVICES_DIR/services.json"
status=0
for script in bench/*.py; do
  name=$(basename "$script" .py)
  [ -z "${BENCH:-}" ] || [ "$BENCH" = "$name" ] || continue
  echo "== $name" >&2
  python "$script" || { echo "bench $name failed" >&2; status=1; }
done
exit $status
