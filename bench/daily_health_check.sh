#!/usr/bin/env bash
# The baseline of bench/daily_health_check.py: the daily health check as an SRE types it from the
# runbooks. kubectl get pods and deployments per namespace, the HPAs and the Warning events; curl of
# each health endpoint; psql SELECT 1 and the connection count; redis-cli ping and INFO; a listing of
# the backups (the local directory and the S3 prefix).
# FULL=1 adds the reads of the checks that list leaves out, which daily_health_check.yml makes too:
# the SLO endpoint (H3), the last day's logs of the first five Deployments (H7), the nodes (H13), the
# claims, volume statistics and database size (H14), and the model and data metrics (H16).
# Environment: KUBECTL, KUBECONFIG, NAMESPACES and ENDPOINTS (space-separated), PGHOST, PGPORT,
# PGUSER, PGPASSWORD, PGDATABASE, REDIS_HOST, REDIS_PORT, BACKUP_DIR, S3_LISTING_URL, PROMETHEUS_URL,
# PLATFORM_V2_URL. Every read runs even when an earlier one fails, as a morning check would.
set -u
read -r -a namespace_list <<< "$NAMESPACES"
read -r -a endpoint_list <<< "$ENDPOINTS"

for ns in "${namespace_list[@]}"; do
  "$KUBECTL" get pods -n "$ns" -o wide
  "$KUBECTL" get deployments -n "$ns"
done
"$KUBECTL" get hpa -A
"$KUBECTL" get events -A --field-selector type=Warning
for url in "${endpoint_list[@]}"; do
  curl -sS -o /dev/null -m 5 -w "%{http_code} %{time_total}s $url\n" "$url"
done
psql -X -A -t -c "SELECT 1"
psql -X -A -t -c "SELECT count(*), current_setting('max_connections') FROM pg_stat_activity"
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping
redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" info
ls -lt "$BACKUP_DIR"
curl -sS -m 10 "$S3_LISTING_URL"
echo

if [ "${FULL:-0}" = 1 ]; then
  curl -sS -m 10 "$PLATFORM_V2_URL/api/v1/health/slo?window=30d"
  echo
  shown=0
  for ns in "${namespace_list[@]}"; do
    for deployment in $("$KUBECTL" get deployments -n "$ns" -o name); do
      [ "$shown" -lt 5 ] || break 2
      shown=$((shown + 1))
      "$KUBECTL" logs "$deployment" -n "$ns" --since=24h | grep -ci error
    done
  done
  "$KUBECTL" describe nodes
  "$KUBECTL" get pvc -A
  for query in "kubelet_volume_stats_used_bytes / kubelet_volume_stats_capacity_bytes" anomaly_detection_accuracy \
               model_inference_time false_positive_rate data_quality_score data_processing_lag; do
    curl -sS -m 10 -G "$PROMETHEUS_URL/api/v1/query" --data-urlencode "query=$query"
    echo
  done
  psql -X -A -t -c "SELECT pg_database_size(current_database())"
fi
exit 0
