# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""health_check_info: the daily health check's reads (each the work of an existing read module) in one task.

A part left out is not read. A part that cannot be read carries ``failed`` and ``msg`` in its own key, as
its module's registered result would under ``failed_when: false``; the task itself fails only on bad input.
"""

from __future__ import annotations

import time

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.sre.runbooks.plugins.module_utils._backup.args import INFO_RANGES, info_argument_spec
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._health.parts import Part, PartModule, finish, run_at_once
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import health_args
from ansible_collections.sre.runbooks.plugins.module_utils._kafka import lag_runner
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import (
    POSTGRES_COMMON_ARGS,
    POSTGRES_RANGES,
    DatabaseError,
    connect,
    fetch_dicts,
    first_line,
    server_address,
    set_timeouts,
)
from ansible_collections.sre.runbooks.plugins.module_utils._redis import maintain_args
from ansible_collections.sre.runbooks.plugins.module_utils._redis.connection import (
    REDIS_COMMON_ARGS,
    REDIS_RANGES,
    REDIS_REQUIRED_TOGETHER,
)
from ansible_collections.sre.runbooks.plugins.module_utils._slo import slo_args
from ansible_collections.sre.runbooks.plugins.module_utils._slo.prometheus import (
    PROMETHEUS_MUTUALLY_EXCLUSIVE,
    PROMETHEUS_REQUIRED_TOGETHER,
)

# H4 and H14's one catalog query: connections by state, the limits, the role and the sizes. A database the
# role may not connect to is left out of the total rather than failing the query.
POSTGRES_QUERY = """
SELECT count(*) FILTER (WHERE backend_type = 'client backend') AS total,
       count(*) FILTER (WHERE backend_type = 'client backend' AND state = 'active') AS active,
       count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,
       current_setting('max_connections')::int AS max_connections,
       current_setting('superuser_reserved_connections')::int AS reserved,
       pg_is_in_recovery() AS in_recovery,
       current_setting('server_version') AS version,
       pg_database_size(current_database()) AS database_size,
       (SELECT sum(CASE WHEN has_database_privilege(datname, 'CONNECT') THEN pg_database_size(datname) END)
        FROM pg_database)::bigint AS databases_size
FROM pg_stat_activity
"""
# A catalog query that takes longer than this is itself a finding.
POSTGRES_STATEMENT_TIMEOUT_MS = 30000

# The whole read (every part at once) ends after this many seconds by default.
DEFAULT_TIMEOUT = 300.0


# Each part imports the code that reads it in its own process, so that the parts' imports (and the
# libraries they load) happen at the same time rather than before the first process starts.
# pylint: disable=import-outside-toplevel


def read_kubernetes(module):
    """H1, H6-H8, H13, H14: k8s_health_info's read."""
    from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health_runner import run_module
    return run_module(module)


def check_slos(module):
    """H2, H3, H14, H16: slo_check's probes, SLOs and thresholds."""
    from ansible_collections.sre.runbooks.plugins.module_utils._slo.slo_runner import run_module
    return run_module(module)


def list_backups(module):
    """H9: pg_backup_info's listing."""
    from ansible_collections.sre.runbooks.plugins.module_utils._backup.info import list_for_module
    return list_for_module(module)


def read_postgres(module):
    """H4/H14: the catalog query's one row, as ``query_result`` (the shape community.postgresql gives)."""
    conn = connect(module)
    try:
        with conn.cursor() as cursor:
            set_timeouts(cursor, statement_timeout_ms=POSTGRES_STATEMENT_TIMEOUT_MS)
            rows = fetch_dicts(cursor, POSTGRES_QUERY)
    except DatabaseError as exc:
        module.fail_json(msg=f"The health query on PostgreSQL at {server_address(module.params)} failed: "
                             f"{first_line(str(exc))}.")
    finally:
        conn.close()
    return {"query_result": rows}


def read_redis(module):
    """H5/H15: redis_maintain's memory report, given only the connection options."""
    from ansible_collections.sre.runbooks.plugins.module_utils._redis.maintainer import run_maintenance
    from ansible_collections.sre.runbooks.plugins.module_utils._redis.memory import run_memory
    params = dict(module.params, operation="memory")
    module.params = ArgumentSpecValidator(maintain_args.argument_spec()).validate(params).validated_parameters
    # The memory report only: the module carries none of the other operations' code.
    return run_maintenance(module, {"memory": run_memory})


def read_kafka(module):
    """H12: the cluster's metadata, then the groups' lag when the cluster answered."""
    from ansible_collections.sre.runbooks.plugins.module_utils._kafka import cluster_runner
    params = module.params
    cluster_params = {key: value for key, value in params.items() if key not in lag_runner.OPTIONS}
    cluster_params.update(topics=params["topics"], include_internal=False)
    cluster = finish(cluster_runner.run_module, PartModule(module._module, cluster_params, module.warnings),  # pylint: disable=protected-access
                     "kafka_cluster_info")
    if cluster.get("failed"):
        return {"cluster": cluster, "lag": {"skipped": True, "skip_reason": "the cluster did not answer"}}
    return {"cluster": cluster, "lag": finish(lag_runner.run_module, module, "kafka_consumer_lag_info")}


def _slo_spec():
    spec = slo_args.argument_spec()
    # A read reports the verdicts; it does not fail on them (slo_check's own default is breached).
    spec["fail_on"] = dict(spec["fail_on"], default="never")
    return spec


def _kafka_spec():
    args = lag_runner.module_args()
    return {key: args[key] for key in ("argument_spec", "ranges", "required_together")}


SLO_SPEC = {"argument_spec": _slo_spec(), "ranges": slo_args.RANGES, "mutually_exclusive": PROMETHEUS_MUTUALLY_EXCLUSIVE,
            "required_together": PROMETHEUS_REQUIRED_TOGETHER, "required_if": [("source", "probe", ["probe"])]}
BACKUPS_SPEC = {"argument_spec": info_argument_spec(), "ranges": INFO_RANGES, "required_one_of": [("dest", "s3")]}
REDIS_SPEC = {"argument_spec": REDIS_COMMON_ARGS, "ranges": REDIS_RANGES, "required_together": REDIS_REQUIRED_TOGETHER}
# The parts, in the order the module documents them: each checked against its module's spec, then run.
PARTS = {
    "kubernetes": Part("kubernetes", "k8s_health_info", {"argument_spec": health_args.argument_spec(),
                                                         "ranges": health_args.RANGES}, read_kubernetes),
    "slo": Part("slo", "slo_check", SLO_SPEC, check_slos),
    "postgres": Part("postgres", "the sre.runbooks.postgres connection",
                     {"argument_spec": POSTGRES_COMMON_ARGS, "ranges": POSTGRES_RANGES}, read_postgres),
    "redis": Part("redis", "the sre.runbooks.redis connection", REDIS_SPEC, read_redis),
    "backups": Part("backups", "pg_backup_info", BACKUPS_SPEC, list_backups),
    "kafka": Part("kafka", "kafka_consumer_lag_info", _kafka_spec(), read_kafka),
}


def argument_spec():
    spec = {name: {"type": "dict"} for name in PARTS}
    spec["timeout"] = {"type": "float", "default": DEFAULT_TIMEOUT}
    return spec


RANGES = {"timeout": (1, 3600)}


def part_secrets(params):
    """Every no_log value the parts were given, for RunbookModule's extra_secrets (raw arguments, any type)."""
    found = set()
    for name, part in PARTS.items():
        given = params.get(name) if isinstance(params, dict) else None
        if isinstance(given, dict):
            found.update(part.secrets(given))
    return found


def _iso(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def run_module(module):
    """Check every part's options, read the parts at the same time and end with one key per part."""
    checked = {}
    try:
        for name, part in PARTS.items():
            if module.params[name] is not None:
                params, secrets = part.check(module.params[name])
                module.no_log_values.update(secrets)
                checked[name] = params
    except InputError as exc:
        module.fail_json(msg=str(exc))
    started = time.time()
    timings = {}

    def job(name):
        def timed():
            began = time.monotonic()
            result = PARTS[name].run(module, checked[name])
            result["seconds"] = round(time.monotonic() - began, 3)
            return result
        return timed

    results = run_at_once({name: job(name) for name in checked}, module.params["timeout"])
    for name, result in results.items():
        timings[name] = result.pop("seconds", None)
        for warning in result.pop("warnings", []):
            module.warn(f"{name}: {warning}")
    module.exit_json(changed=False, started_at=_iso(started), finished_at=_iso(time.time()),
                     seconds=timings, failed_parts=sorted(name for name, result in results.items() if result.get("failed")),
                     **results)
