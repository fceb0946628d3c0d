#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: k8s_job
short_description: Run a one-shot Kubernetes Job from a CronJob, an image or a spec, and wait for it to end
version_added: 0.1.0
description:
  - Creates a Job the way C(kubectl create job NAME --from=cronjob/CRON) does (the CronJob's jobTemplate labels,
    annotations and spec, the annotation C(cronjob.kubernetes.io/instantiate=manual), an owner reference to the
    CronJob), the way C(kubectl create job NAME --image=IMAGE) does, or from a full Job spec.
  - The Job's name is C(<name>-<run_id>), so a second run with the same O(run_id) finds the Job it made before
    instead of making another. A Job that completed is reported as it is; one still running is waited for; a
    failed one is reported, or deleted and created again with O(rerun=failed).
  - Waits with the watch API until the Job is C(Complete) or C(Failed), or O(timeout) passes. A Job that failed or
    did not finish names the reason and, pod by pod, the containers that exited non-zero or wait
    (C(ImagePullBackOff), ...).
author:
  - sre.runbooks maintainers (@sre-runbooks)
extends_documentation_fragment:
  - sre.runbooks.k8s
  - sre.runbooks.attributes
  - sre.runbooks.attributes.actiongroup_k8s
attributes:
  check_mode:
    support: full
    details:
      - Nothing is created or deleted and nothing is waited for. RV(definition) is the Job that would be created
        (the CronJob is read, so a missing one fails as it would for real); RV(job.status) is V(would_create) or
        V(would_rerun), or the real status of a Job that exists.
  diff_mode:
    support: full
    details:
      - Shows the Job as it is (empty when there is none) and the Job that is or would be created.
  idempotent:
    support: full
    details:
      - With the same O(run_id), a Job that exists is never created again; only O(rerun=failed) replaces a failed one.
options:
  name:
    description:
      - The Job's name before the run id is appended. Defaults to the CronJob's name with O(cronjob);
        required with O(image) and O(spec).
      - Also the container's name of a Job from O(image).
    type: str
  namespace:
    description:
      - Namespace of the Job and of its CronJob.
    type: str
    required: true
  cronjob:
    description:
      - Create the Job from this CronJob's jobTemplate, owned by the CronJob.
      - Exactly one of O(cronjob), O(image) and O(spec) is required.
    type: str
  image:
    description:
      - Create a Job with one container running this image, with C(restartPolicy=Never).
    type: str
  command:
    description:
      - The container's command, with O(image).
    type: list
    elements: str
  args:
    description:
      - The container's arguments, with O(image).
    type: list
    elements: str
  env:
    description:
      - The container's environment as Kubernetes C(EnvVar) entries (C(name) with C(value) or C(valueFrom)),
        with O(image).
    type: list
    elements: dict
  like:
    description:
      - With O(image), make the Job's pod like a workload's - its container's C(env), C(envFrom), C(volumeMounts),
        C(resources), C(securityContext) and C(workingDir), and the pod's C(serviceAccountName), C(volumes),
        C(imagePullSecrets), C(securityContext), C(nodeSelector), C(tolerations) and C(priorityClassName) - so
        it reaches the same database and secrets as the application. The image stays O(image); O(env) entries
        come after the workload's.
      - This is how a database migration runs from a new image before it rolls out.
    type: dict
    suboptions:
      kind:
        description: Kind of the workload.
        type: str
        default: Deployment
        choices: [Deployment, StatefulSet, DaemonSet]
      name:
        description: Name of the workload, in O(namespace).
        type: str
        required: true
      container:
        description: The workload's container to copy; by default its first container.
        type: str
  logs:
    description:
      - Return the last this many lines of the log of the Job's newest pod as RV(logs) (C(kubectl logs job/NAME --tail)),
        once the wait is over. V(0) reads none. Not in check mode.
    type: int
    default: 0
  backoff_limit:
    description:
      - Retries before the Job counts as failed, with O(image). Kubernetes' default is 6.
    type: int
  spec:
    description:
      - A full Job spec (C(template), C(backoffLimit), ...).
    type: dict
  labels:
    description:
      - Labels of a Job from O(image) or O(spec). A Job from a CronJob has the jobTemplate's.
    type: dict
  annotations:
    description:
      - Annotations of a Job from O(image) or O(spec). A Job from a CronJob has the jobTemplate's.
    type: dict
  run_id:
    description:
      - Appended to the name as C(<name>-<run_id>), the name cut so the whole is at most 63 characters. A change
        ticket, a date or a week such as V(2025w03) identifies the run.
      - Unset or empty uses O(name) as it is.
    type: str
  rerun:
    description:
      - What to do when a Job of that name exists and has failed.
      - V(never) reports the old failure. V(failed) deletes the Job (its pods with it) and creates it again.
      - A Job that completed or is still running is never created again.
    type: str
    default: never
    choices: [never, failed]
  ttl_seconds_after_finished:
    description:
      - C(ttlSecondsAfterFinished) of a Job from O(image) or O(spec) (unless the spec sets it), so Kubernetes deletes
        it that long after it ends. V(0) keeps it.
      - A Job from a CronJob keeps the jobTemplate as it is; the CronJob's history limits prune it.
    type: int
    default: 604800
  create:
    description:
      - Create the Job when it does not exist.
      - With V(false) a missing Job fails the task. A caller that started several Jobs first and waits for them
        afterwards uses it, so a Job removed in between (its TTL) is never run twice.
    type: bool
    default: true
  wait:
    description:
      - Wait until the Job is C(Complete) or C(Failed), at most O(timeout) seconds.
      - With V(false), a Job that has not ended is reported as V(running).
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for the Job. A Job still running then is reported as V(timeout) and left running.
    type: int
    default: 600
  fail_on_job_failure:
    description:
      - Fail the task when the Job failed or did not finish within O(timeout), with RV(failure) as the message.
      - With V(false) the task succeeds and RV(job.status) and RV(failure) tell; a caller that reports first
        (the C(sre.runbooks.k8s_jobs) role) uses it.
    type: bool
    default: true
seealso:
  - module: sre.runbooks.k8s_rollout
  - name: kubectl create job
    description: The command whose Jobs this module makes.
    link: https://kubernetes.io/docs/reference/kubectl/generated/kubectl_create/kubectl_create_job/
"""

EXAMPLES = r"""
- name: Update the security database now (kubectl create job --from=cronjob/security-update)
  sre.runbooks.k8s_job:
    namespace: production
    cronjob: security-update
    name: update-security-db
    run_id: "{{ now(utc=true).strftime('%Y%m%d') }}"

- name: Clean the logs with a one-off container, retrying a failed run of today
  sre.runbooks.k8s_job:
    namespace: production
    name: log-cleanup
    image: log-cleaner:latest
    command: [log-cleaner, --older-than, 7d]
    backoff_limit: 2
    run_id: "{{ now(utc=true).strftime('%Y%m%d') }}"
    rerun: failed
    timeout: 1800

- name: Run the database migrations from the new image, with the application's env, before it rolls out
  sre.runbooks.k8s_job:
    namespace: production
    name: meta-prompt-hub-migrate
    image: registry.example.com/meta-prompt-hub:2.4.0
    command: [python, manage.py, migrate, --noinput]
    like:
      name: meta-prompt-evolution-hub
    backoff_limit: 0
    run_id: "2.4.0"
    rerun: failed
    logs: 200
  register: migration

- name: Start a reindex from a full spec without waiting, and report instead of failing
  sre.runbooks.k8s_job:
    namespace: data
    name: reindex
    run_id: CHG-1234
    spec:
      backoffLimit: 1
      template:
        spec:
          restartPolicy: OnFailure
          containers:
            - name: reindex
              image: db-tools:3
    wait: false
    fail_on_job_failure: false
  register: reindex
"""

RETURN = r"""
job:
  description: The Job as it ended, was found, or would be created.
  returned: success, and when the Job failed or did not finish
  type: dict
  contains:
    name:
      description: The Job's name, with the run id.
      type: str
      sample: update-security-db-20250115
    namespace:
      description: Its namespace.
      type: str
    source:
      description: Where it comes from.
      type: str
      sample: cronjob/security-update
    owner:
      description: C(<kind>/<name>) of its owner, V(CronJob/security-update), or empty.
      type: str
    created:
      description: Whether this task created it (V(false) in check mode).
      type: bool
    rerun:
      description: Whether a failed Job of the same name was (or would be) deleted and created again.
      type: bool
    status:
      description: V(succeeded), V(failed), V(timeout) (waited for in vain), V(running) (not waited for),
        V(would_create) or V(would_rerun) (check mode).
      type: str
      sample: succeeded
    succeeded:
      description: Pods that succeeded, from the Job's status.
      type: int
    failed:
      description: Pods that failed, from the Job's status.
      type: int
    active:
      description: Pods running, from the Job's status.
      type: int
    start_time:
      description: When the Job started (RFC 3339), or null.
      type: str
    completion_time:
      description: When it ended, or null.
      type: str
    duration_s:
      description: Seconds from start to end, or null.
      type: int
    reason:
      description: The C(Failed) condition's reason (V(BackoffLimitExceeded), V(DeadlineExceeded), ...), or empty.
      type: str
    message:
      description: The C(Failed) condition's message, or empty.
      type: str
    pod_failures:
      description: For a Job that failed, timed out or is running, its pods that did not succeed.
      type: list
      elements: dict
      contains:
        pod:
          description: Pod name.
          type: str
        phase:
          description: Pod phase.
          type: str
        reason:
          description: The pod's reason (V(Evicted), ...), or empty.
          type: str
        message:
          description: The pod's message, or empty.
          type: str
        containers:
          description: Its containers that exited non-zero or wait, each with C(name), C(state) (V(terminated) or
            V(waiting)), C(reason), C(exit_code) and C(message).
          type: list
          elements: dict
logs:
  description: With O(logs), the log of the Job's newest pod - C(pod), C(lines) (its last O(logs) non-empty lines)
    and C(error) (why it could not be read, such as the API serving no logs; null otherwise).
  returned: when O(logs) is above 0, not in check mode
  type: dict
  sample: {pod: migrate-2-4-0-x7q, lines: ["Applying prompts.0042_add_score... OK"], error: null}
definition:
  description: The Job manifest that was (or in check mode would be) created; null when the Job was left as it was.
  returned: success
  type: dict
failure:
  description: One sentence naming the Job, why it failed or did not finish and its pods' containers; empty otherwise.
  returned: success, and when the Job failed or did not finish
  type: str
  sample: "Job production/scan-t (cronjob/scan) failed: BackoffLimitExceeded; pod scan-t-x7q Failed, container scan Error exit code 1."
"""

from ansible_collections.sre.runbooks.plugins.module_utils._common.module import RunbookModule
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.job_runner import module_args, run_module


def main():
    module = RunbookModule(**module_args())
    module.run(lambda: run_module(module), "k8s_job")


if __name__ == "__main__":
    main()
