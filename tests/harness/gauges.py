"""Gauge series as OpenMetrics text for ``promtool tsdb create-blocks-from openmetrics``.

The demo, the benchmarks and the integration tests load Prometheus with the kubelet's volume
statistics and the anomaly-detection service's metrics (ENT runbook) this way: each series holds one
value, sampled every ``step`` seconds from ``start`` to ``end`` (unix seconds; the end may lie in the
future, so an instant query finds the value for as long as a demo or a benchmark runs).
"""

from __future__ import annotations

import io

GIB = 2 ** 30

# The ENT runbook's application metrics, healthy except the processing lag (above its 5 minutes).
ENT_METRICS = {
    "anomaly_detection_accuracy": [({"model": "fraud-detector-v3"}, 0.91), ({"model": "login-anomaly-v2"}, 0.88)],
    "model_inference_time": [({"model": "fraud-detector-v3"}, 0.42), ({"model": "login-anomaly-v2"}, 0.18)],
    "false_positive_rate": [({"model": "fraud-detector-v3"}, 0.06), ({"model": "login-anomaly-v2"}, 0.04)],
    "data_quality_score": [({"pipeline": "transactions"}, 0.95)],
    "data_processing_lag": [({"pipeline": "transactions"}, 420.0)],
}


def volume_stats(claims):
    """The kubelet's volume statistics for ``claims``: [(namespace, name, used bytes, capacity bytes)]."""
    used, capacity = [], []
    for namespace, name, used_bytes, capacity_bytes in claims:
        labels = {"namespace": namespace, "persistentvolumeclaim": name}
        used.append((labels, float(used_bytes)))
        capacity.append((labels, float(capacity_bytes)))
    return {"kubelet_volume_stats_used_bytes": used, "kubelet_volume_stats_capacity_bytes": capacity}


def openmetrics(series, start, end, step=60):
    """``series`` ({metric: [(labels, value)]}) as gauges sampled every ``step`` s in [start, end], ending '# EOF'."""
    out = io.StringIO()
    for metric, members in series.items():
        out.write(f"# TYPE {metric} gauge\n")
        for labels, value in members:
            text = ",".join(f'{key}="{val}"' for key, val in sorted(labels.items()))
            for stamp in range(int(start), int(end) + 1, int(step)):
                out.write(f"{metric}{{{text}}} {value} {stamp}\n")
    out.write("# EOF\n")
    return out.getvalue()
