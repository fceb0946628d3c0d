# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The health_check role's verdicts, one filter per check: a registered result in, one report entry out.

The decisions are the pure functions of module_utils/_health (unit-tested there); this file only names
them for Jinja. Each filter is documented in the .yml file of its name next to this one.
"""

from __future__ import annotations

from ansible_collections.sre.runbooks.plugins.module_utils._health.backups import backups_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.endpoints import endpoints_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.entries import overall
from ansible_collections.sre.runbooks.plugins.module_utils._health.kafka import kafka_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.kubernetes import (
    hpa_verdict, pods_verdict, resources_verdict)
from ansible_collections.sre.runbooks.plugins.module_utils._health.logs import logs_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.nodes import nodes_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.postgres import postgres_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.redis import cache_verdict, redis_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.slo import slo_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.thresholds import thresholds_verdict
from ansible_collections.sre.runbooks.plugins.module_utils._health.volumes import volumes_verdict


class FilterModule:
    """health_check's verdict filters."""

    def filters(self):
        return {
            "health_pods_verdict": pods_verdict,
            "health_hpa_verdict": hpa_verdict,
            "health_resources_verdict": resources_verdict,
            "health_logs_verdict": logs_verdict,
            "health_endpoints_verdict": endpoints_verdict,
            "health_slo_verdict": slo_verdict,
            "health_postgres_verdict": postgres_verdict,
            "health_redis_verdict": redis_verdict,
            "health_backups_verdict": backups_verdict,
            "health_kafka_verdict": kafka_verdict,
            "health_nodes_verdict": nodes_verdict,
            "health_volumes_verdict": volumes_verdict,
            "health_redis_cache_verdict": cache_verdict,
            "health_model_verdict": thresholds_verdict,
            "health_overall_verdict": overall,
        }
