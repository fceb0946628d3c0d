#!/usr/bin/env bash
# `make demo`: start the local services and the Kubernetes control plane, seed demo data,
# run the weekly maintenance playbook (then the daily health check) against
# inventories/local, and print where the reports are.
# KEEP=1 leaves everything running afterwards (stop with `make services-down k8s-down`).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
export ANSIBLE_COLLECTIONS_PATH="$PWD/.collections"
export SRE_SERVICES_DIR="${SRE_SERVICES_DIR:-$PWD/.services}"
export SRE_REPORT_DIR="${SRE_REPORT_DIR:-$PWD/reports/local}"
# A fresh backup directory each run, so the demo shows backups being made and verified.
export SRE_BACKUP_DIR="${SRE_BACKUP_DIR:-$PWD/.cache/demo-backups}"
rm -rf "$SRE_BACKUP_DIR"

# Stop afterwards only what this run started (a cluster may be shared with a test run).
cluster_was_running=0
if tests/k8s/cluster.sh status >/dev/null 2>&1; then cluster_was_running=1; fi
stop_all() {
  python -m tests.platform_sandbox stop --run-dir "$SRE_SERVICES_DIR/platform" >/dev/null 2>&1 || true
  python -m tests.harness.services down >/dev/null
  if [ "$cluster_was_running" = 0 ]; then tests/k8s/cluster.sh down >/dev/null; fi
}
if [ "${KEEP:-0}" != 1 ]; then
  trap stop_all EXIT
fi

echo "== starting local services"
python -m tests.harness.services up
# shellcheck disable=SC1091
. "$SRE_SERVICES_DIR/services.env"

echo "== starting the platform sandbox (the EXP runbook's V1/V2/V3 APIs)"
urls=$(python -m tests.platform_sandbox start --run-dir "$SRE_SERVICES_DIR/platform")
PLATFORM_V1_URL=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["v1_url"])' "$urls")
PLATFORM_V2_URL=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["v2_url"])' "$urls")
PLATFORM_V3_URL=$(python -c 'import json,sys; print(json.loads(sys.argv[1])["v3_url"])' "$urls")
export PLATFORM_V1_URL PLATFORM_V2_URL PLATFORM_V3_URL
echo "v1 $PLATFORM_V1_URL  v2 $PLATFORM_V2_URL  v3 $PLATFORM_V3_URL"

echo "== starting the local Kubernetes control plane (the first run builds it: ~6 min)"
bin_dir=$(tests/k8s/build.sh | tail -n 1)
tests/k8s/cluster.sh up | tail -n 1
eval "$(tests/k8s/cluster.sh env)"

echo "== seeding demo data"
python -m tests.harness.demo_data "$SRE_SERVICES_DIR" "$bin_dir/kubectl" "$KUBECONFIG"

mkdir -p "$SRE_REPORT_DIR"
echo "== ansible-playbook -i inventories/local playbooks/weekly_maintenance.yml"
ansible-playbook -i inventories/local playbooks/weekly_maintenance.yml
# The demo cluster has a crash-looping deployment on purpose: report it, don't stop on it.
echo "== ansible-playbook -i inventories/local playbooks/daily_health_check.yml -e health_check_fail_on=never"
ansible-playbook -i inventories/local playbooks/daily_health_check.yml -e health_check_fail_on=never

echo
echo "== reports in $SRE_REPORT_DIR"
ls -1 "$SRE_REPORT_DIR"
python -m tests.harness.demo_summary "$SRE_REPORT_DIR"
if [ "${KEEP:-0}" = 1 ]; then
  echo "left running (KEEP=1): make services-down k8s-down to stop"
fi
