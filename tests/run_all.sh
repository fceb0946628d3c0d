#!/usr/bin/env bash
# The whole test suite (`make test`, and so CI): static checks first because they fail
# fast, then every pytest tier against real services. pytest runs last so its summary
# closes the output; its fixtures start the services and the Kubernetes control plane
# and stop them at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
logs=.cache/test-logs
mkdir -p "$logs"
t0=$(date +%s)
step() { printf '\n== %s (t+%ss)\n' "$1" "$(( $(date +%s) - t0 ))"; }
quiet() {  # run a noisy step, show its log only when it fails
  local name=$1; shift
  if ! "$@" > "$logs/$name.log" 2>&1; then
    tail -n 80 "$logs/$name.log"; echo "FAILED: $name (full log: $logs/$name.log)"; exit 1
  fi
  tail -n 3 "$logs/$name.log"
}

step "system packages"
python -m tests.harness.services deps

step "kubernetes control plane build (cached after the first run)"
quiet k8s-build tests/k8s/build.sh

step "kafka broker jars from Maven Central (cached after the first run)"
quiet kafka-build tests/kafka/build.sh

step "ansible-test sanity"
quiet sanity tests/sanity/run.sh

step "ansible-lint (production profile)"
ansible-lint

step "collection build"
make --no-print-directory build

# `-o build`: check the tarball the step above wrote, without building it again.
step "galaxy-importer on the tarball (Automation Hub settings, offline)"
quiet galaxy-import make --no-print-directory -o build galaxy-import

step "execution environment build context (ansible-builder create)"
quiet ee-context make --no-print-directory -o build ee-context

step "antsibull-docs lint"
quiet docs-lint make --no-print-directory docs-lint

step "changelog lint"
antsibull-changelog lint

step "pytest: unit, integration, molecule"
# --durations: the slowest tests in the log, to keep the suite within its time budget.
exec pytest --durations=40 tests/unit tests/integration
