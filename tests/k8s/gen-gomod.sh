#!/usr/bin/env bash
# Regenerate go.mod/go.sum for the test environment wrapper module.
# k8s.io/kubernetes requires its staging modules at v0.0.0 and maps them with local
# replaces that do not apply to a dependency, so we add one replace per staging module,
# read from the published go.mod (fetched through the module proxy, never hand-typed).
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
export GOTOOLCHAIN=local CGO_ENABLED=0
staging="v0.${K8S_VERSION#1.}"
rm -f go.mod go.sum
go mod init sre.runbooks/k8s-testenv
upstream=$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' "$upstream" | while read -r m; do
  go mod edit -replace="$m=$m@$staging"
done
go mod edit -require="k8s.io/kubernetes@v${K8S_VERSION}" -require="sigs.k8s.io/kwok@v${KWOK_VERSION}"
go mod edit -godebug="$(sed -n 's/^godebug //p' "$upstream")"
go mod tidy
