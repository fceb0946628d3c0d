#!/usr/bin/env bash
# Resolve the Apache Kafka broker (KRaft) jars from Maven Central into a cache outside the repo,
# once: pom.xml beside this script lists kafka_2.13 and a log4j2 binding, Maven copies them and
# their runtime dependencies into <cache>/kafka-<version>/libs. A second run with the marker
# present is a no-op. Prints the libs directory on its last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/versions.env"
cache="${SRE_RUNBOOKS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sre-runbooks}/kafka-${KAFKA_VERSION}"
libs="$cache/libs"
marker="$libs/.complete"

complete() { [ -f "$marker" ] && [ -f "$libs/kafka_2.13-${KAFKA_VERSION}.jar" ]; }

if complete; then
  echo "kafka-build: cached, nothing to do"
  echo "$libs"
  exit 0
fi

# The cache is shared by every checkout on the machine: two cold runs at once would race on
# libs.tmp. The second waits, then finds the jars the first one resolved.
mkdir -p "$cache"
exec 9>"$cache/build.lock"
if ! flock -n 9; then
  echo "kafka-build: another resolve of this cache is running; waiting for it"
  flock 9
fi
if complete; then
  echo "kafka-build: resolved by the run we waited for"
  echo "$libs"
  exit 0
fi

command -v mvn >/dev/null || { echo "kafka-build: Maven ('mvn') is required (Debian package maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "kafka-build: a Java 17+ runtime is required (Debian package openjdk-17-jre-headless)" >&2; exit 1; }

start=$(date +%s)
tmp="$libs.tmp"
rm -rf "$tmp"
echo "kafka-build: resolving org.apache.kafka:kafka_2.13:${KAFKA_VERSION} and its runtime dependencies"
# -B: no colour/progress noise; includeScope=runtime: what the broker needs at run time, not
# the test or provided scopes. Maven's own repository (~/.m2) keeps the downloads, so a rerun
# after an interrupted copy does not download again.
mvn -B -q -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
  dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
  > "$cache/build.log" 2>&1 || { tail -n 40 "$cache/build.log" >&2; echo "kafka-build: mvn failed (log: $cache/build.log)" >&2; exit 1; }
[ -f "$tmp/kafka_2.13-${KAFKA_VERSION}.jar" ] || { echo "kafka-build: kafka_2.13-${KAFKA_VERSION}.jar missing after resolve" >&2; exit 1; }
rm -rf "$libs"
mv "$tmp" "$libs"
touch "$marker"
echo "kafka-build: resolved $(find "$libs" -name "*.jar" | wc -l) jars in $(( $(date +%s) - start ))s"
echo "$libs"
