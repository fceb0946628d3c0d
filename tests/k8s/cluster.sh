#!/usr/bin/env bash
# The local Kubernetes control plane for tests, molecule, the demo and benchmarks.
#   cluster.sh up         build if needed, start (or reuse) the cluster; last line: KUBECONFIG=<path>
#   cluster.sh down       delete it; no process is left behind. Refuses (exit 1) while test
#                         sessions registered under users/ still run; `down --force` stops it anyway
#   cluster.sh status     running / stopped
#   cluster.sh env        export KUBECONFIG=... K8S_AUTH_KUBECONFIG=...  (eval "$(cluster.sh env)")
#   cluster.sh artifacts  what kwokctl would use (local binary paths only)
# The implementation is tests/harness/k8s.py (standard library only); see tests/k8s/README.md.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
python="$repo/.venv/bin/python"
[ -x "$python" ] || python="$(command -v python3)"
cd "$repo"
exec "$python" -m tests.harness.k8s "$@"
