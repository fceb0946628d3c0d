# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_health_info's ``logs`` section: read the recent logs of several Deployments' pods at once (H7).

Which Deployments, pods and containers, and what the lines say, are the pure functions of
_k8s/logs.py; this file only reads, concurrently, with one request per container log.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import logs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, object_ref


class LogReader:
    """Reads the logs of the target Deployments' pods, ``workers`` requests at a time."""

    def __init__(self, api, options, workers):
        self.api = api
        self.options = options
        self.workers = workers
        self.calls = 0

    def _pods_of(self, namespace, known):
        """The pods of ``namespace``: those already listed, else one list request."""
        if namespace in known:
            return known[namespace]
        self.calls += 1
        known[namespace] = self.api.list("Pod", namespace)["items"]
        return known[namespace]

    def _missing(self, namespace, name, deployments):
        """Whether a listed Deployment does not exist (asked of the API unless its namespace was listed)."""
        if namespace in deployments:
            return name not in deployments[namespace]
        self.calls += 1
        return self.api.find("Deployment", namespace, name) is None

    def _read(self, namespace, read):
        pod, container, previous = read
        try:
            text = self.api.log(namespace, pod, container, since_seconds=self.options["since_seconds"],
                                limit_bytes=self.options["limit_bytes"], previous=previous)
        except KubeError as exc:
            if exc.status == 0:  # the API is unreachable: the whole check fails, not this row
                raise
            return read, None, str(exc).split(": ", 1)[-1].rstrip(".")
        return read, text, None

    def run(self, targets, pods, deployments, listed):
        """Rows of ``targets`` ((namespace, name) pairs, in order).

        ``pods`` maps the namespaces already listed to their pods, ``deployments`` to the names of their
        Deployments; ``listed`` says the targets were named by the user (so they may not exist).
        """
        opts = self.options
        plans = []
        for namespace, name in targets:
            if listed and self._missing(namespace, name, deployments):
                plans.append((namespace, name, None, [], f"{object_ref('Deployment', namespace, name)} not found"))
                continue
            chosen = logs.choose_pods(self._pods_of(namespace, pods), name, opts["max_pods"])
            plans.append((namespace, name, chosen, logs.reads(chosen, opts["previous"]), None))
        jobs = [(index, namespace, read) for index, (namespace, _name, _pods, reads, _why) in enumerate(plans)
                for read in reads]
        self.calls += len(jobs)
        outcomes = {index: [] for index in range(len(plans))}
        if jobs:
            with ThreadPoolExecutor(max_workers=max(1, min(self.workers, len(jobs)))) as pool:
                futures = [(index, pool.submit(self._read, namespace, read)) for index, namespace, read in jobs]
                for index, future in futures:
                    outcomes[index].append(future.result())
        rows = []
        for index, (namespace, name, chosen, _reads, why) in enumerate(plans):
            row = logs.deployment_row(namespace, name, chosen, outcomes[index], opts["pattern"], opts["limit_bytes"])
            if why:
                row["reason"] = why
            rows.append(row)
        return rows
