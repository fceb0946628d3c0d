#!/usr/bin/env bash
# `make demo`: start the local services, seed demo data, run the weekly maintenance
# playbook against inventories/local, and print where the report is.
# KEEP=1 leaves the services running afterwards (stop them with `make services-down`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
export SRE_SERVICES_DIR="${SRE_SERVICES_DIR:-$PWD/.services}"
export SRE_REPORT_DIR="${SRE_REPORT_DIR:-$PWD/reports/local}"

if [ "${KEEP:-0}" != 1 ]; then
  trap 'python -m tests.harness.services down >/dev/null' EXIT
fi

echo "== starting local services"
python -m tests.harness.services up
# shellcheck disable=SC1091
. "$SRE_SERVICES_DIR/services.env"

echo "== seeding demo data"
python -m tests.harness.demo_data "$SRE_SERVICES_DIR"

echo "== ansible-playbook -i inventories/local playbooks/weekly_maintenance.yml"
ansible-playbook -i inventories/local playbooks/weekly_maintenance.yml

echo
echo "== reports in $SRE_REPORT_DIR"
ls -1 "$SRE_REPORT_DIR"
python -m tests.harness.demo_summary "$SRE_REPORT_DIR"
if [ "${KEEP:-0}" = 1 ]; then
  echo "services left running (KEEP=1): make services-down to stop them"
fi
