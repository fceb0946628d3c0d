# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Which Job to create, under which name, whether to run it again, and what its state means.

Pure functions over the API's JSON dicts: the name with its run id, the manifest from a CronJob's
jobTemplate (what ``kubectl create job --from=cronjob/...`` sends), from an image or from a full
spec, the rerun decision, the result record and the one-sentence failure. No I/O here; the runner
(job_runner.py) reads and writes the cluster.
"""

from __future__ import annotations

import re
from datetime import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import pods as k8s_pods

# The options that say where the Job comes from; exactly one is given.
SOURCES = ("cronjob", "image", "spec")
RERUN_POLICIES = ("never", "failed")

# kubectl marks Jobs it makes from a CronJob this way; the CronJob controller's own Jobs lack it.
INSTANTIATE_ANNOTATION = "cronjob.kubernetes.io/instantiate"

# A Job name is a DNS-1123 label: the Job controller copies it into the pods' job-name label.
MAX_NAME = 63
NAME_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")

TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

# What the runner does with the Job: make a new one, delete a failed one and make it again, or
# leave the one that is there (finished or still running) and report it.
CREATE, RERUN, KEEP = "create", "rerun", "keep"


class PlanError(Exception):
    """An option set that cannot give a Job; ``str()`` is the one-sentence failure."""


def job_name(base, run_id):
    """``<base>-<run_id>``, the base cut so the whole fits 63 characters; ``base`` alone without a run id."""
    run_id = str(run_id or "")
    if not run_id:
        return base
    return base[:MAX_NAME - 1 - len(run_id)].rstrip("-") + "-" + run_id


def planned_name(params):
    """The Job's name from the options (``name``, else the CronJob's name, plus the run id), checked."""
    base = params.get("name") or params.get("cronjob") or ""
    name = job_name(base, params.get("run_id"))
    if not base:
        raise PlanError("A Job from an image or a spec needs a name.")
    if len(name) > MAX_NAME or not NAME_PATTERN.match(name):
        raise PlanError(f"The Job name {name!r} is not valid: it must be at most {MAX_NAME} lower-case letters, "
                        "digits and dashes, starting and ending with a letter or digit.")
    return name


def source_of(params):
    """Which of cronjob, image or spec the options give (the argument spec allows exactly one)."""
    return next(source for source in SOURCES if params.get(source) is not None)


def source_text(params):
    """How results name the source: ``cronjob/security-update``, ``image log-cleaner:latest``, ``spec``."""
    source = source_of(params)
    like = params.get("like")
    image = f"image {params.get('image')}" + (f" like {like['kind']}/{like['name']}" if like else "")
    return {"cronjob": f"cronjob/{params.get('cronjob')}", "image": image, "spec": "spec"}[source]


def log_lines(text, limit):
    """The last ``limit`` non-empty lines of a log text."""
    lines = [line for line in (text or "").splitlines() if line.strip()]
    return lines[-limit:] if limit else []


def _job(name, namespace, labels, annotations, spec, owners=None):
    metadata = {"name": name, "namespace": namespace, "labels": labels, "annotations": annotations}
    if owners:
        metadata["ownerReferences"] = owners
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": spec}


def from_cronjob(cronjob, name, namespace):
    """The Job ``kubectl create job NAME --from=cronjob/CRON`` makes: the jobTemplate, owned by the CronJob."""
    template = (cronjob.get("spec") or {}).get("jobTemplate") or {}
    template_meta = template.get("metadata") or {}
    annotations = {INSTANTIATE_ANNOTATION: "manual", **(template_meta.get("annotations") or {})}
    cron_meta = cronjob.get("metadata") or {}
    owner = {"apiVersion": "batch/v1", "kind": "CronJob", "name": cron_meta.get("name"), "uid": cron_meta.get("uid"),
             "controller": True}
    return _job(name, namespace, dict(template_meta.get("labels") or {}), annotations,
                template.get("spec") or {}, [owner])


# What a Job made ``like`` a workload borrows from its pod template: what reaches the same
# database, secrets and files as the application (a migration), and where it may run.
LIKE_POD_FIELDS = ("serviceAccountName", "volumes", "imagePullSecrets", "securityContext", "nodeSelector",
                   "tolerations", "priorityClassName")
LIKE_CONTAINER_FIELDS = ("env", "envFrom", "volumeMounts", "resources", "securityContext", "workingDir")


def borrowed(ref, template, container=None):
    """(pod spec fields, container fields) a Job made like the workload ``ref`` takes from its pod ``template``.

    ``container`` names the container to copy, by default the first one; PlanError when it has no such container.
    """
    spec = (template or {}).get("spec") or {}
    containers = spec.get("containers") or []
    names = [c.get("name") for c in containers]
    chosen = next((c for c in containers if c.get("name") == container), None) if container else \
        (containers[0] if containers else None)
    if chosen is None:
        raise PlanError(f"{ref} has no container {container!r} to make the Job like (containers: "
                        f"{', '.join(names) or 'none'}).")
    pod = {key: spec[key] for key in LIKE_POD_FIELDS if spec.get(key) is not None}
    return pod, {key: chosen[key] for key in LIKE_CONTAINER_FIELDS if chosen.get(key) is not None}


def from_image(params, name, namespace, ttl_seconds, like=None):
    """The Job ``kubectl create job NAME --image=IMAGE`` makes: one container named after the base name.

    ``like`` is the (pod fields, container fields) pair of :func:`borrowed`: the Job then runs with the
    workload's env, mounts, volumes and service account (O(env) entries of the options come last).
    """
    pod, borrowed_container = like or ({}, {})
    container = {**borrowed_container, "name": params.get("name") or name, "image": params["image"]}
    for option in ("command", "args"):
        if params.get(option) is not None:
            container[option] = params[option]
    if params.get("env") is not None:
        container["env"] = list(container.get("env") or []) + list(params["env"])
    spec = {"template": {"spec": {**pod, "restartPolicy": "Never", "containers": [container]}}}
    if params.get("backoff_limit") is not None:
        spec["backoffLimit"] = int(params["backoff_limit"])
    if ttl_seconds > 0:
        spec["ttlSecondsAfterFinished"] = ttl_seconds
    return _job(name, namespace, dict(params.get("labels") or {}), dict(params.get("annotations") or {}), spec)


def from_spec(params, name, namespace, ttl_seconds):
    """A Job from a full spec; the TTL is added unless the spec sets its own."""
    spec = dict(params["spec"])
    if ttl_seconds > 0 and "ttlSecondsAfterFinished" not in spec:
        spec["ttlSecondsAfterFinished"] = ttl_seconds
    return _job(name, namespace, dict(params.get("labels") or {}), dict(params.get("annotations") or {}), spec)


def ended_condition(job):
    """The Job's Complete or Failed condition when it is True, else None (still running, or not made yet)."""
    for condition in ((job or {}).get("status") or {}).get("conditions") or []:
        if condition.get("type") in ("Complete", "Failed") and condition.get("status") == "True":
            return condition
    return None


def decide(existing, rerun):
    """CREATE when there is no Job of that name, RERUN a Failed one when ``rerun`` is ``failed``, else KEEP.

    A Job that completed, or is still running, is never made again: the name is the run's identity.
    """
    if existing is None:
        return CREATE
    ended = ended_condition(existing)
    if rerun == "failed" and ended is not None and ended.get("type") == "Failed":
        return RERUN
    return KEEP


def status_of(job, action, check_mode, waited):
    """succeeded / failed from the Job's conditions; would_create / would_rerun in check mode;
    timeout when it was waited for in vain; running when it was not waited for."""
    if check_mode and action != KEEP:
        return "would_rerun" if action == RERUN else "would_create"
    ended = ended_condition(job)
    if ended is not None:
        return "succeeded" if ended["type"] == "Complete" else "failed"
    return "timeout" if waited else "running"


def _seconds_between(start, end):
    try:
        return int((datetime.strptime(end, TIME_FORMAT) - datetime.strptime(start, TIME_FORMAT)).total_seconds())
    except (TypeError, ValueError):
        return None


def job_record(job, namespace, source, status, created, rerun, pod_failures):
    """The result of one Job as the k8s_jobs role reports it (``job`` is the object, or the manifest in check mode)."""
    job = job or {}
    would = status.startswith("would_")
    state = {} if would else (job.get("status") or {})
    ended = None if would else ended_condition(job)
    started = state.get("startTime")
    finished = state.get("completionTime") or (ended or {}).get("lastTransitionTime")
    failed = ended is not None and ended.get("type") == "Failed"
    owners = (job.get("metadata") or {}).get("ownerReferences") or []
    return {
        "name": (job.get("metadata") or {}).get("name"),
        "namespace": namespace,
        "source": source,
        "created": created,
        "rerun": rerun,
        "status": status,
        "succeeded": state.get("succeeded") or 0,
        "failed": state.get("failed") or 0,
        "active": state.get("active") or 0,
        "start_time": started,
        "completion_time": finished if ended else None,
        "duration_s": _seconds_between(started, finished) if ended and started and finished else None,
        "reason": (ended.get("reason") or "") if failed else "",
        "message": (ended.get("message") or "") if failed else "",
        "owner": f"{owners[0].get('kind')}/{owners[0].get('name')}" if owners else "",
        "pod_failures": pod_failures,
    }


def _container_failure(status):
    """A container that exited non-zero or waits (ImagePullBackOff, ...), else None."""
    # pylint: disable-next=protected-access
    terminated, waiting = k8s_pods._terminated(status), k8s_pods._waiting(status)
    if terminated is not None and (terminated.get("exitCode") or 0) != 0:
        return {"name": status.get("name"), "state": "terminated", "reason": terminated.get("reason") or "",
                "exit_code": terminated.get("exitCode"), "message": terminated.get("message") or ""}
    if waiting is not None:
        return {"name": status.get("name"), "state": "waiting", "reason": waiting.get("reason") or "",
                "exit_code": None, "message": waiting.get("message") or ""}
    return None


def pod_failures(pods):
    """Why the Job's pods that did not succeed are stuck or failed, container by container."""
    rows = []
    for pod in pods:
        status = pod.get("status") or {}
        if status.get("phase") == "Succeeded":
            continue
        # pylint: disable-next=protected-access
        containers = k8s_pods._statuses(pod, "initContainerStatuses") + k8s_pods._statuses(pod, "containerStatuses")
        rows.append({"pod": (pod.get("metadata") or {}).get("name"), "phase": status.get("phase") or "",
                     "reason": status.get("reason") or "", "message": status.get("message") or "",
                     "containers": [row for row in map(_container_failure, containers) if row]})
    return rows


def _pod_phrase(pod):
    parts = [f"pod {pod['pod']} {pod['phase']}"]
    for container in pod["containers"]:
        exit_code = "" if container["exit_code"] is None else f" exit code {container['exit_code']}"
        parts.append(f"container {container['name']} {container['reason']}{exit_code}")
    return ", ".join(parts)


def failure_sentence(record):
    """One sentence naming a failed or unfinished Job, its reason and its pods' containers; "" otherwise."""
    if record["status"] not in ("failed", "timeout"):
        return ""
    what = "failed" if record["status"] == "failed" else "did not finish within its timeout"
    reason = ""
    if record["reason"]:
        reason = f": {record['reason']}" + (f" ({record['message']})" if record["message"] else "")
    pods = "; ".join(_pod_phrase(pod) for pod in record["pod_failures"])
    return (f"Job {record['namespace']}/{record['name']} ({record['source']}) {what}{reason}"
            + (f"; {pods}" if pods else "") + ".")


def _like(value, shape):
    """``value`` cut to the keys (and list positions) that ``shape`` has: a Job read back without server defaults."""
    if isinstance(value, dict) and isinstance(shape, dict):
        return {key: _like(value[key], shape[key]) for key in shape if key in value}
    if isinstance(value, list) and isinstance(shape, list):
        return [_like(item, other) for item, other in zip(value, shape)]
    return value


def manifest_view(job, like=None):
    """What a diff shows of a Job: what was asked for and, for one that exists, how it stands (Complete,
    Failed or Running); ``like`` (the new manifest) drops the fields the server filled in, so a rerun's
    diff shows what changes rather than every default."""
    if not job:
        return {}
    metadata = job.get("metadata") or {}
    kept = {key: metadata[key] for key in ("name", "namespace", "labels", "annotations", "ownerReferences")
            if metadata.get(key)}
    view = {"apiVersion": "batch/v1", "kind": "Job", "metadata": kept, "spec": job.get("spec") or {}}
    if like:
        view = _like(view, manifest_view(like))
    if "status" in job:
        view["status"] = (ended_condition(job) or {}).get("type") or "Running"
    return view
