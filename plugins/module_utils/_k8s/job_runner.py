# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The k8s_job module's I/O: read the Job and its CronJob, create or re-create it, watch it end, read its pods.

Every decision (name, manifest, rerun, status, the failure sentence) is a pure function of
job_plan.py; this file only talks to the API server.
"""

from __future__ import annotations

import time

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import job_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import (
    K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect, object_ref)

OPTIONS = {
    "name": {"type": "str"},
    "namespace": {"type": "str", "required": True},
    "cronjob": {"type": "str"},
    "image": {"type": "str"},
    "command": {"type": "list", "elements": "str"},
    "args": {"type": "list", "elements": "str"},
    "env": {"type": "list", "elements": "dict"},
    "like": {"type": "dict", "options": {
        "kind": {"type": "str", "default": "Deployment", "choices": ["Deployment", "StatefulSet", "DaemonSet"]},
        "name": {"type": "str", "required": True},
        "container": {"type": "str"},
    }},
    "logs": {"type": "int", "default": 0},
    "backoff_limit": {"type": "int"},
    "spec": {"type": "dict"},
    "labels": {"type": "dict"},
    "annotations": {"type": "dict"},
    "run_id": {"type": "str"},
    "rerun": {"type": "str", "default": "never", "choices": list(plan.RERUN_POLICIES)},
    "ttl_seconds_after_finished": {"type": "int", "default": 604800},
    "create": {"type": "bool", "default": True},
    "wait": {"type": "bool", "default": True},
    "timeout": {"type": "int", "default": 600},
    "fail_on_job_failure": {"type": "bool", "default": True},
}

# How long one watch request lasts on the server before it is renewed (seconds).
WATCH_SECONDS = 50
# A failed Job deleted to run again must be gone before its successor can take the name.
DELETE_TIMEOUT = 60


def module_args():
    """Keyword arguments of AnsibleModule for k8s_job."""
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "mutually_exclusive": [plan.SOURCES], "required_one_of": [plan.SOURCES],
            # Bounds on numbers (RunbookModule ranges): a Job waited on for 10**9 s is a typo.
            "required_by": {"like": "image"},
            "ranges": dict(K8S_RANGES, timeout=(0, 7 * 86400), backoff_limit=(0, 1000),
                           ttl_seconds_after_finished=(0, 10 ** 9), logs=(0, 10000))}


class JobError(Exception):
    """An expected failure of the task; ``str()`` is its one sentence."""


class JobRunner:
    """One Job: find it, create it (or run a failed one again), wait for it, and describe it."""

    def __init__(self, module, api, name, clock=time.monotonic):
        self.params = module.params
        self.api = api
        self.clock = clock
        self.check_mode = module.check_mode
        self.namespace = self.params["namespace"]
        self.name = name
        self.ref = object_ref("Job", self.namespace, self.name)
        self.actions = {plan.CREATE: self._create, plan.RERUN: self._rerun, plan.KEEP: self._keep}
        self.builders = {"cronjob": self._from_cronjob, "image": self._from_image, "spec": self._from_spec}

    def run(self):
        """The module's result: ``changed``, ``job`` (the record), ``definition``, ``failure`` and ``diff``."""
        existing = self.api.find("Job", self.namespace, self.name)
        action = plan.decide(existing, self.params["rerun"])
        if action == plan.CREATE and not self.params["create"]:
            raise JobError(f"{self.ref} does not exist, and create=false forbids making it.")
        definition = None if action == plan.KEEP else self.builders[plan.source_of(self.params)]()
        job = self.actions[action](existing, definition)
        waited = self.params["wait"] and not self.check_mode
        if waited and plan.ended_condition(job) is None:
            job = self._wait_until(job, plan.ended_condition, self.params["timeout"])
            if job is None:
                raise JobError(f"{self.ref} was deleted while the task waited for it.")
        status = plan.status_of(job, action, self.check_mode, waited)
        pods = self._pod_failures() if status in ("failed", "timeout", "running") else []
        record = plan.job_record(job, self.namespace, plan.source_text(self.params), status,
                                 created=action != plan.KEEP and not self.check_mode,
                                 rerun=action == plan.RERUN, pod_failures=pods)
        extra = {"logs": self._logs()} if self.params["logs"] and not self.check_mode else {}
        return {"changed": action != plan.KEEP, "job": record, "definition": definition, **extra,
                "failure": plan.failure_sentence(record),
                "diff": {"before": plan.manifest_view(existing, like=definition),
                         "after": plan.manifest_view(definition or existing)}}

    # ------------------------------------------------------------------ the manifest

    def _from_cronjob(self):
        cronjob = self.api.find("CronJob", self.namespace, self.params["cronjob"])
        if cronjob is None:
            raise JobError(f"CronJob {self.params['cronjob']} does not exist in namespace {self.namespace}, "
                           f"so Job {self.name} cannot be created from it.")
        return plan.from_cronjob(cronjob, self.name, self.namespace)

    def _from_image(self):
        like = self.params.get("like")
        borrowed = None
        if like:
            ref = object_ref(like["kind"], self.namespace, like["name"])
            workload = self.api.find(like["kind"], self.namespace, like["name"])
            if workload is None:
                raise JobError(f"{ref} does not exist, so Job {self.name} cannot be made like it.")
            borrowed = plan.borrowed(ref, (workload.get("spec") or {}).get("template"), like.get("container"))
        return plan.from_image(self.params, self.name, self.namespace, self.params["ttl_seconds_after_finished"],
                               borrowed)

    def _from_spec(self):
        return plan.from_spec(self.params, self.name, self.namespace, self.params["ttl_seconds_after_finished"])

    # ------------------------------------------------------------------ the actions (check mode: none)

    def _keep(self, existing, definition):
        return existing

    def _create(self, existing, definition):
        if self.check_mode:
            return definition
        return self.api.create("Job", self.namespace, definition)

    def _rerun(self, existing, definition):
        if self.check_mode:
            return definition
        uid = existing["metadata"].get("uid")
        # Background: the API removes the Job now and its garbage collector the old pods after it.
        self.api.delete("Job", self.namespace, self.name, uid=uid, propagation_policy="Background")
        if (self.api.find("Job", self.namespace, self.name) is not None
                and self._wait_until(existing, lambda job: False, DELETE_TIMEOUT) is not None):
            raise JobError(f"{self.ref} was deleted to run again but is still there after {DELETE_TIMEOUT} s.")
        return self.api.create("Job", self.namespace, definition)

    # ------------------------------------------------------------------ reading the cluster

    def _pod_failures(self):
        pods = self.api.list("Pod", self.namespace, label_selector=f"job-name={self.name}")["items"]
        return plan.pod_failures(sorted(pods, key=lambda pod: pod["metadata"].get("name") or ""))

    def _logs(self):
        """The last ``logs`` lines of the Job's newest pod (``kubectl logs job/NAME --tail``), or why there are none."""
        pods = self.api.list("Pod", self.namespace, label_selector=f"job-name={self.name}")["items"]
        if not pods:
            return {"pod": None, "lines": [], "error": "the Job has no pod"}
        newest = max(pods, key=lambda pod: (pod["metadata"].get("creationTimestamp") or "", pod["metadata"]["name"]))
        name = newest["metadata"]["name"]
        try:
            text = self.api.log(self.namespace, name, tail_lines=self.params["logs"])
        except KubeError as exc:
            return {"pod": name, "lines": [], "error": str(exc)}
        return {"pod": name, "lines": plan.log_lines(text, self.params["logs"]), "error": None}

    def _wait_until(self, job, done, timeout):
        """Watch the Job until ``done(job)``, it is deleted (None) or ``timeout`` seconds pass; returns the Job.

        A watch answers within one event of the change, so the task returns as soon as the Job ends.
        Watch errors are retried until the deadline; a resourceVersion too old (410) reads the Job again.
        """
        deadline = self.clock() + max(0, timeout)
        version = job["metadata"].get("resourceVersion")
        while not done(job) and self.clock() < deadline:
            try:
                for event in self.api.watch("Job", self.namespace, resource_version=version,
                                            field_selector=f"metadata.name={self.name}",
                                            timeout_seconds=min(WATCH_SECONDS, deadline - self.clock())):
                    obj = event.get("object") or {}
                    version = (obj.get("metadata") or {}).get("resourceVersion") or version
                    if event.get("type") == "DELETED":
                        return None
                    if event.get("type") in ("ADDED", "MODIFIED"):
                        job = obj
                    if done(job) or self.clock() >= deadline:
                        break
            except KubeError as exc:
                if exc.status != 410:
                    time.sleep(min(1.0, max(0.0, deadline - self.clock())))
                job = self.api.find("Job", self.namespace, self.name)
                if job is None:
                    return None
                version = job["metadata"].get("resourceVersion")
        return job


def run_module(module):
    """Build the runner, run it, and end the task: exit_json, or fail_json with one sentence."""
    try:
        name = plan.planned_name(module.params)  # a bad name fails before the connection is made
        result = JobRunner(module, connect(module), name).run()
    except (plan.PlanError, JobError, KubeError) as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:  # pylint: disable=protected-access
        result.pop("diff")
    if result["failure"] and module.params["fail_on_job_failure"]:
        module.fail_json(msg=result["failure"], **result)
    module.exit_json(**result)
