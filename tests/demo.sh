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

if [ "${KEEP:-0}" != 1 ]; then
  trap 'python -m tests.harness.services down >/dev/null; tests/k8s/cluster.sh down >/dev/null' EXIT
fi

echo "== starting local services"
python -m tests.harness.services up
# shellcheck disable=SC1091
. "$SRE_SERVICES_DIR/services.env"

echo "== starting the local Kubernetes control plane (the first run builds it: ~6 min)"
bin_dir=$(tests/k8s/build.sh | tail -n 1)
tests/k8s/cluster.sh up | tail -n 1
eval "$(tests/k8s/cluster.sh env)"

echo "== seeding demo data"
python -m tests.harness.demo_data "$SRE_SERVICES_DIR" "$bin_dir/kubectl" "$KUBECONFIG"

mkdir -p "$SRE_REPORT_DIR"
for playbook in weekly_maintenance daily_health_check; do
  [ -f "playbooks/$playbook.yml" ] || continue
  echo "== ansible-playbook -i inventories/local playbooks/$playbook.yml"
  ansible-playbook -i inventories/local "playbooks/$playbook.yml"
done

echo
echo "== reports in $SRE_REPORT_DIR"
ls -1 "$SRE_REPORT_DIR"
python -m tests.harness.demo_summary "$SRE_REPORT_DIR"
if [ "${KEEP:-0}" = 1 ]; then
  echo "left running (KEEP=1): make services-down k8s-down to stop"
fi
