"""The health_verdicts filter plugin names each pure verdict function of module_utils/_health."""

from __future__ import annotations

from pathlib import Path

import yaml

from ansible_collections.sre.runbooks.plugins.filter.health_verdicts import FilterModule
from ansible_collections.sre.runbooks.plugins.module_utils._health import (
    entries, kubernetes, nodes, redis, thresholds, volumes)

FILTER_DIR = Path(__file__).resolve().parents[4] / "plugins" / "filter"


def test_every_filter_has_its_documentation_file():
    filters = FilterModule().filters()
    for name in filters:
        doc = yaml.safe_load((FILTER_DIR / f"{name}.yml").read_text())
        assert doc["DOCUMENTATION"]["name"] == name
        assert set(doc) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}
    assert sorted(path.stem for path in FILTER_DIR.glob("health_*.yml")) == sorted(filters)


def test_filters_are_the_pure_functions():
    filters = FilterModule().filters()
    assert filters["health_pods_verdict"] is kubernetes.pods_verdict
    assert filters["health_overall_verdict"] is entries.overall
    assert filters["health_nodes_verdict"] is nodes.nodes_verdict
    assert filters["health_volumes_verdict"] is volumes.volumes_verdict
    assert filters["health_redis_cache_verdict"] is redis.cache_verdict
    assert filters["health_model_verdict"] is thresholds.thresholds_verdict
