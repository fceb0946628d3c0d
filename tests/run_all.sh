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

step "lowest supported ansible-core: its venv (cached after the first run)"
quiet core-min-venv make --no-print-directory venv-core-min

step "pytest: unit, integration, molecule (two sessions side by side, sanity on the lowest core beside them)"
# Most of the suite's time is spent waiting on ansible-playbook runs and the control plane, so
# two pytest sessions share the two cores well. Each starts its own services and its own
# Kubernetes cluster (SRE_K8S_DIR): neither can see the other's namespaces, nodes or databases.
# Session B (molecule, the playbook tests, the hostile-input suite, the AWX job templates) writes
# to a log shown at the end; session A (everything else) writes here. ansible-test sanity on the
# lowest supported ansible-core runs beside them too (its log is shown when it fails).
# --durations keeps the slowest tests in the log, to hold the suite within its time budget.
second=(tests/integration/test_molecule.py tests/integration/playbooks tests/integration/badinput
        tests/integration/awx)
k8s_a=$(python -c 'from tests.harness import k8s; print(k8s.state_dir())')
SRE_K8S_DIR="$k8s_a-b" pytest --durations=25 -p no:cacheprovider --basetemp=.cache/pytest-b "${second[@]}" \
  > "$logs/pytest-b.log" 2>&1 &
pid_b=$!
SANITY_BIN="$PWD/.cache/venv-core-min/bin" SANITY_WORKDIR="$PWD/.cache/sanity-core-min" \
  tests/sanity/run.sh > "$logs/core-min-sanity.log" 2>&1 &
pid_sanity=$!
trap 'kill "$pid_b" "$pid_sanity" 2>/dev/null || true' EXIT
status_a=0
pytest --durations=25 tests/unit tests/integration "${second[@]/#/--ignore=}" || status_a=$?
status_b=0
wait "$pid_b" || status_b=$?
status_sanity=0
wait "$pid_sanity" || status_sanity=$?
trap - EXIT
step "ansible-test sanity on the lowest supported ansible-core (log: $logs/core-min-sanity.log)"
if [ "$status_sanity" -ne 0 ]; then tail -n 80 "$logs/core-min-sanity.log"; else tail -n 3 "$logs/core-min-sanity.log"; fi
step "pytest session B: molecule, playbooks, hostile input, AWX templates (log: $logs/pytest-b.log)"
if [ "$status_b" -ne 0 ]; then tail -n 400 "$logs/pytest-b.log"; else sed -n '/slowest .* durations/,$p' "$logs/pytest-b.log"; fi
echo "session A rc=$status_a, session B rc=$status_b, sanity on the lowest core rc=$status_sanity"
[ "$status_a" -eq 0 ] && [ "$status_b" -eq 0 ] && [ "$status_sanity" -eq 0 ]
