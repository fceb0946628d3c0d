#!/usr/bin/env bash
# Build the local Kubernetes control plane (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, etcd, kwok, kwokctl) and metrics-server from Go modules into a
# cache outside the repo. A second run with every binary present is a no-op; an interrupted run
# resumes from Go's build cache. Prints the bin directory on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"
export GOTOOLCHAIN=local CGO_ENABLED=0
cache="${SRE_RUNBOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sre-runbooks}/k8s-v${K8S_VERSION}-kwok-v${KWOK_VERSION}"
bin="$cache/bin"
binaries="kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl"
# metrics-server is its own Go module (metrics-server/go.mod): it needs older k8s.io libraries
# than the control plane, so the two cannot share one build list.
manifests="$cache/metrics-server-manifests"

control_plane_built() {
  for b in $binaries; do [ -x "$bin/$b" ] || return 1; done
  "$bin/kube-apiserver" --version 2>/dev/null | grep -qx "Kubernetes v${K8S_VERSION}"
}

metrics_server_built() {
  [ -x "$bin/metrics-server" ] && [ -f "$manifests/kustomization.yaml" ] &&
    "$bin/metrics-server" --version 2>/dev/null | grep -qx "v${METRICS_SERVER_VERSION}"
}

complete() { control_plane_built && metrics_server_built; }

if complete; then
  echo "k8s-build: cached, nothing to do"
  echo "$bin"
  exit 0
fi

# The cache is shared by every checkout on the machine: two cold runs at once (make test in one
# checkout, a test session in another) would race on bin.tmp. The second waits, then finds
# the binaries the first one built.
mkdir -p "$cache"
exec 9>"$cache/build.lock"
if ! flock -n 9; then
  echo "k8s-build: another build of this cache is running; waiting for it"
  flock 9
fi
if complete; then
  echo "k8s-build: built by the run we waited for"
  echo "$bin"
  exit 0
fi

command -v go >/dev/null || { echo "k8s-build: the 'go' command (1.26+) is required" >&2; exit 1; }
mkdir -p "$bin"

build_control_plane() {
  start=$(date +%s)
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  ldflags="-s -w"
  # The variables upstream's hack/lib/version.sh sets; without them the binaries report
  # v0.0.0-master and kwokctl/clients cannot pick version-dependent flags.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitVersion=v${K8S_VERSION} -X $p.gitMajor=1 -X $p.gitMinor=${minor}"
    ldflags="$ldflags -X $p.gitTreeState=clean -X $p.gitCommit=0000000000000000000000000000000000000000"
    ldflags="$ldflags -X $p.buildDate=1970-01-01T00:00:00Z"
  done

  cd "$here"
  echo "k8s-build: downloading modules"
  go mod download
  # One invocation builds every main package into $bin with shared compilation; -v prints
  # each package as it is compiled, which is the progress output of a long cold build.
  echo "k8s-build: compiling (cold: ~6 min on 2 idle cores, ~20 s relink with a warm Go build cache)"
  tmp="$bin.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  # The full output goes to $cache/build.log; the console gets a progress line every 50
  # packages plus every line that is not a bare package path (compiler errors, warnings).
  log="$cache/build.log"
  if ! go build -v -trimpath -ldflags "$ldflags" -o "$tmp/" \
    k8s.io/kubernetes/cmd/kube-apiserver \
    k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler \
    k8s.io/kubernetes/cmd/kubectl \
    sigs.k8s.io/kwok/cmd/kwok \
    sigs.k8s.io/kwok/cmd/kwokctl \
    ./cmd/etcd 2>&1 | tee "$log" | awk '
      /^[A-Za-z0-9._~+\/-]+$/ { n++; if (n % 50 == 0) printf "k8s-build: %d packages compiled\n", n; fflush(); next }
      { print; fflush() }'
  then
    echo "k8s-build: go build failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
  fi
  # Binaries appear in the cache only once all linked, so an interrupted build never
  # looks complete.
  for b in $binaries; do mv -f "$tmp/$b" "$bin/$b"; done
  rm -rf "$tmp"
  control_plane_built || { echo "k8s-build: build finished but kube-apiserver does not report v${K8S_VERSION}" >&2; exit 1; }
  echo "k8s-build: control plane built in $(( $(date +%s) - start ))s"
}

build_metrics_server() {
  start=$(date +%s)
  echo "k8s-build: compiling metrics-server v${METRICS_SERVER_VERSION} (cold: ~2 min)"
  cd "$here/metrics-server"
  go mod download
  modroot=$(go list -m -f '{{.Dir}}' sigs.k8s.io/metrics-server)
  # metrics-server reports client-go's version variables (its Makefile's VERSION_LDFLAGS);
  # kwokctl reads that version from `metrics-server --version`.
  ms_ldflags="-s -w -X k8s.io/client-go/pkg/version.gitVersion=v${METRICS_SERVER_VERSION}"
  ms_ldflags="$ms_ldflags -X k8s.io/client-go/pkg/version.gitCommit=0000000000000000000000000000000000000000"
  ms_ldflags="$ms_ldflags -X k8s.io/client-go/pkg/version.buildDate=1970-01-01T00:00:00Z"
  go build -trimpath -ldflags "$ms_ldflags" -o "$bin/metrics-server.tmp" sigs.k8s.io/metrics-server/cmd/metrics-server
  # The release manifests (APIService, RBAC, Service) from the same module; kwokctl applies them
  # with `kubectl kustomize <dir>` and points the Service at the local process.
  rm -rf "$manifests.tmp"
  cp -r "$modroot/manifests/base" "$manifests.tmp"
  chmod -R u+w "$manifests.tmp"
  rm -rf "$manifests"
  mv "$manifests.tmp" "$manifests"
  mv -f "$bin/metrics-server.tmp" "$bin/metrics-server"
  metrics_server_built || { echo "k8s-build: metrics-server does not report v${METRICS_SERVER_VERSION}" >&2; exit 1; }
  echo "k8s-build: metrics-server built in $(( $(date +%s) - start ))s"
}

control_plane_built || build_control_plane
metrics_server_built || build_metrics_server
echo "$bin"
