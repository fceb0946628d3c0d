#!/usr/bin/env bash
# Run `ansible-test sanity` offline. ansible-test insists on a checkout path ending in
# ansible_collections/<namespace>/<name> (a symlink does not count), so the tracked and
# new files are copied there first; its pip bootstrap download is replaced by a local
# stand-in (tests/sanity/get_pip_standin.py).
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
# SANITY_BIN: another venv's ansible-test (the lowest supported ansible-core: make venv-core-min).
bin="${SANITY_BIN:-$repo/.venv/bin}"
work="${SANITY_WORKDIR:-$repo/.cache/sanity}"
dest="$work/ansible_collections/sre/runbooks"

# The bootstrap script's cache name carries the pip version ansible-test pins.
pip_version=$("$bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g; import types; print(g(types.SimpleNamespace(version="3.11"))["pip"])')
mkdir -p "$HOME/.ansible/test/cache"
cp "$repo/tests/sanity/get_pip_standin.py" "$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"

rm -rf "$dest"
mkdir -p "$dest"
# Tracked files plus new, not-ignored ones: what would be committed.
# (Files deleted in the work tree but still in the index are skipped.)
cd "$repo"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  if [ -e "$f" ]; then printf '%s\0' "$f"; fi
done | xargs -0 cp --parents -t "$dest"
cd "$dest"
# ansible-test lists content with git when inside a work tree; give the copy its own.
git init -q .
git add -A
exec "$bin/ansible-test" sanity --venv --python 3.11 --color no "$@"
