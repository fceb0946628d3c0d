# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Wait for a rollout with the watch API, and give up early when it cannot succeed.

Two watches run in background threads, one on the workload (by name) and one on its pods (by
the workload's selector); every event is evaluated at once, so the wait returns within one
event of the rollout completing instead of at the next poll. It fails fast when the controller
reports ProgressDeadlineExceeded or a pod of the *new* revision shows one of the fail-fast
reasons (CrashLoopBackOff, ImagePullBackOff, ...), and names every failing pod with its reason.
Pods of older revisions never fail the wait: they are what keeps serving.

The decisions are the pure functions of rollout_plan and pods; this file only moves events.
"""

from __future__ import annotations

import queue
import threading
import time

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro

REVISION_KIND = {"Deployment": "ReplicaSet", "StatefulSet": "ControllerRevision", "DaemonSet": "ControllerRevision"}

# How long one watch request lasts on the server before it is renewed (seconds).
WATCH_SECONDS = 50
# Least time between two listings of ReplicaSets/ControllerRevisions while failing pods are seen.
REVISION_REFRESH = 1.0


def owned_revisions(api, kind, obj):
    """The workload's revisions (rollout_plan.revisions) from its ReplicaSets or ControllerRevisions."""
    selector = ro.label_selector((obj.get("spec") or {}).get("selector"))
    namespace = (obj.get("metadata") or {}).get("namespace")
    items = api.list(REVISION_KIND[kind], namespace, label_selector=selector)["items"]
    return ro.revisions(kind, ro.owned_by(items, obj))


class RolloutWaiter:
    """Wait for one workload's rollout; :meth:`wait` returns an outcome dict, never raises on failure.

    ``accept`` is an optional extra condition on the workload, ``f(obj) -> (ok, message)``,
    checked once the rollout itself is complete (for example: replicas inside new HPA bounds).
    ``stale_progress`` is the ProgressDeadlineExceeded condition the workload had before the change
    waited for: the controller leaves it in place until the new spec makes progress (a rollback to a
    ReplicaSet that is already available keeps it for a while), so as long as it is that very
    condition (same lastUpdateTime) it is not this rollout's failure.
    """

    def __init__(self, api, kind, namespace, name, fail_fast_reasons=(), accept=None, clock=time.monotonic,
                 watch_seconds=WATCH_SECONDS, stale_progress=None):
        self.api = api
        self.kind = kind
        self.namespace = namespace
        self.name = name
        self.reasons = tuple(fail_fast_reasons or ())
        self.accept = accept
        self.stale_progress = stale_progress
        self.clock = clock
        self.watch_seconds = watch_seconds
        self._events = queue.Queue()
        self._stop = threading.Event()
        self._responses = []
        self._threads = []
        self._matcher = None
        self._matcher_key = None
        self._matcher_checked = None
        self.last_error = None

    # -------------------------------------------------------------------------- evaluation

    def _new_revision_matcher(self, obj):
        """Predicate on pod labels: does the pod run the newest revision? Cached per spec version."""
        status = obj.get("status") or {}
        key = ((obj.get("metadata") or {}).get("generation"), status.get("observedGeneration"),
               status.get("updateRevision"))
        if self.kind == "StatefulSet":
            return ro.new_revision_pod(self.kind, obj, [])
        if self._matcher is not None and self._matcher_key == key:
            return self._matcher
        now = self.clock()
        if self._matcher_key == key and self._matcher_checked is not None and now - self._matcher_checked < REVISION_REFRESH:
            return None
        self._matcher_checked = now
        self._matcher_key = key
        try:
            revs = owned_revisions(self.api, self.kind, obj)
        except KubeError as exc:
            self.last_error = exc
            return None
        self._matcher = ro.new_revision_pod(self.kind, obj, revs)
        return self._matcher

    def evaluate(self, obj, pods):
        """An outcome when the wait is over (complete, failed, paused), else None."""
        status = ro.rollout_status(self.kind, obj)
        if status["failure"] and self.stale_progress is not None and ro.timed_out_condition(obj) == self.stale_progress:
            status.update(failure=None, message="waiting for the deployment controller to report progress")
        if status["complete"]:
            ok, message = self.accept(obj) if self.accept else (True, "")
            if ok:
                return self._outcome("complete", None, status["message"], status, obj, pods, [])
            status["message"] = message
        if status["failure"] and status["failure"] in self.reasons:
            return self._outcome("failed", status["failure"], status["message"], status, obj, pods,
                                 self._new_pod_rows(obj, pods, k8s_pods.unhealthy(pods.values(), include_terminating=False)
                                                    if pods else []))
        if status["paused"] and not status["complete"]:
            return self._outcome("paused", "Paused", "the rollout is paused", status, obj, pods, [])
        if pods and status["observed"] and self.reasons:
            rows = k8s_pods.unhealthy(pods.values(), include_terminating=False)
            bad = k8s_pods.failing(rows, self.reasons)
            bad_new = self._new_pod_rows(obj, pods, bad) if bad else []
            if bad_new:
                reason = max({row["reason"] for row in bad_new},
                             key=lambda r: (sum(1 for row in bad_new if row["reason"] == r), r))
                return self._outcome("failed", reason, k8s_pods.summarize(bad_new), status, obj, pods, bad_new)
        return None

    def _new_pod_rows(self, obj, pods, rows):
        if not rows:
            return []
        matcher = self._new_revision_matcher(obj)
        if matcher is None:
            return []
        return [row for row in rows if matcher(row["labels"])]

    def _outcome(self, outcome, reason, message, status, obj, pods, failing_rows):
        rows = k8s_pods.unhealthy(pods.values(), include_terminating=False) if pods else []
        return {"outcome": outcome, "reason": reason, "message": message, "status": status, "workload": obj,
                "unhealthy_pods": [k8s_pods.public_row(row) for row in rows],
                "failing_pods": [k8s_pods.public_row(row) for row in failing_rows]}

    # -------------------------------------------------------------------------- watching

    def _remember(self, response):
        self._responses.append(response)

    def _pump(self, source, kind, resource_version, label_selector=None, field_selector=None):
        backoff = 0.2
        while not self._stop.is_set():
            try:
                for event in self.api.watch(kind, self.namespace, resource_version=resource_version,
                                            label_selector=label_selector, field_selector=field_selector,
                                            timeout_seconds=self.watch_seconds, on_response=self._remember):
                    if self._stop.is_set():
                        return
                    obj = event.get("object") or {}
                    resource_version = (obj.get("metadata") or {}).get("resourceVersion") or resource_version
                    if event.get("type") in ("ADDED", "MODIFIED", "DELETED"):
                        self._events.put((source, event["type"], obj))
                backoff = 0.2
            except KubeError as exc:
                if self._stop.is_set():
                    return
                if exc.status == 410:  # our resourceVersion is too old: list again, then watch from there
                    try:
                        listing = self.api.list(kind, self.namespace, label_selector=label_selector,
                                                field_selector=field_selector)
                        resource_version = (listing.get("metadata") or {}).get("resourceVersion")
                        self._events.put((source, "SYNC", listing["items"]))
                        continue
                    except KubeError as again:
                        exc = again
                self._events.put(("error", "ERROR", exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            except Exception as exc:  # pylint: disable=broad-exception-caught
                # A thread must not die silently: report and retry like any watch error.
                if self._stop.is_set():
                    return
                self._events.put(("error", "ERROR", KubeError(f"watch failed: {exc}")))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _start(self, source, kind, resource_version, **selectors):
        thread = threading.Thread(target=self._pump, args=(source, kind, resource_version), kwargs=selectors,
                                  name=f"watch-{source}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self):
        self._stop.set()
        for response in list(self._responses):
            try:
                response.shutdown()  # urllib3 >= 2.3: unblocks a read in another thread
            except Exception:  # pylint: disable=broad-exception-caught
                pass

    # -------------------------------------------------------------------------- the wait

    def wait(self, timeout):
        """Wait up to ``timeout`` seconds; returns an outcome dict with ``elapsed`` (seconds).

        outcome is ``complete``, ``failed`` (reason: ProgressDeadlineExceeded or the pods' reason),
        ``timeout``, ``paused`` or ``deleted``. API errors are retried until the deadline, except
        that an answer of the API to the first reads propagates as KubeError (the object is missing,
        access is forbidden, ...); an API that cannot be reached (restarting) is retried there too.
        """
        start = self.clock()
        deadline = start + max(0.0, float(timeout))
        obj = self._read(deadline, self.api.get, self.kind, self.namespace, self.name)
        result = self.evaluate(obj, None)
        if result is None or result["outcome"] != "complete":
            selector = ro.label_selector((obj.get("spec") or {}).get("selector"))
            listing = self._read(deadline, self.api.list, "Pod", self.namespace, label_selector=selector)
            pods = {(p.get("metadata") or {}).get("name"): p for p in listing["items"]}
            result = self.evaluate(obj, pods)
            if result is None:
                result = self._watch(obj, pods, selector, listing, deadline)
        result["elapsed"] = round(self.clock() - start, 3)
        return result

    def _read(self, deadline, call, *args, **kwargs):
        """``call(*args, **kwargs)``, retried with back-off while the API cannot be reached (KubeError status 0)
        and the deadline allows; the last error is raised when it does not."""
        backoff = 0.2
        while True:
            try:
                return call(*args, **kwargs)
            except KubeError as exc:
                if exc.status != 0 or self.clock() + backoff >= deadline:
                    raise
                self.last_error = exc
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)

    def _watch(self, obj, pods, selector, listing, deadline):
        self._start("workload", self.kind, (obj.get("metadata") or {}).get("resourceVersion"),
                    field_selector=f"metadata.name={self.name}")
        self._start("pod", "Pod", (listing.get("metadata") or {}).get("resourceVersion"), label_selector=selector)
        try:
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return self._timed_out(obj, pods)
                try:
                    batch = [self._events.get(timeout=remaining)]
                except queue.Empty:
                    continue
                while True:
                    try:
                        batch.append(self._events.get_nowait())
                    except queue.Empty:
                        break
                for source, kind, payload in batch:
                    if source == "error":
                        self.last_error = payload
                    elif source == "workload":
                        if kind == "DELETED" or (kind == "SYNC" and not payload):
                            return self._deleted(obj, pods)
                        obj = payload[0] if kind == "SYNC" else payload
                    elif kind == "SYNC":
                        pods = {(p.get("metadata") or {}).get("name"): p for p in payload}
                    elif kind == "DELETED":
                        pods.pop((payload.get("metadata") or {}).get("name"), None)
                    else:
                        pods[(payload.get("metadata") or {}).get("name")] = payload
                result = self.evaluate(obj, pods)
                if result is not None:
                    return result
        finally:
            self.stop()

    def _timed_out(self, obj, pods):
        status = ro.rollout_status(self.kind, obj)
        if status["complete"] and self.accept:
            status["message"] = self.accept(obj)[1] or status["message"]
        result = self._outcome("timeout", "Timeout", status["message"], status, obj, pods, [])
        if self.last_error is not None:
            result["api_error"] = str(self.last_error)
        return result

    def _deleted(self, obj, pods):
        status = ro.rollout_status(self.kind, obj)
        return self._outcome("deleted", "Deleted", "the object was deleted while waiting", status, obj, pods, [])
