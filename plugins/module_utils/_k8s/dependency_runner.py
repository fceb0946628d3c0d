# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""The k8s_dependency_check module's I/O: pick the pod, run the probe through pods/exec, judge."""

from __future__ import annotations

import json

from ansible_collections.sre.runbooks.plugins.module_utils._common.argspec import merge_argspecs
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import dependency_check as check
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import K8S_COMMON_ARGS, K8S_RANGES, KubeError, connect

OPTIONS = {
    "namespace": {"type": "str", "required": True},
    "pod": {"type": "str"},
    "label_selector": {"type": "str"},
    "workload": {"type": "dict", "options": {
        "kind": {"type": "str", "default": "Deployment", "choices": ["Deployment", "StatefulSet", "DaemonSet"]},
        "name": {"type": "str", "required": True}}},
    "container": {"type": "str"},
    "targets": {"type": "list", "elements": "raw", "required": True},
    "timeout": {"type": "float", "default": 3.0},
    "interpreter": {"type": "str", "default": "python3"},
}


def module_args():
    return {"argument_spec": merge_argspecs(K8S_COMMON_ARGS, **OPTIONS), "supports_check_mode": True,
            "mutually_exclusive": [("pod", "label_selector", "workload")],
            "required_one_of": [("pod", "label_selector", "workload")],
            "ranges": dict(K8S_RANGES, timeout=(0.1, 60))}


def exec_probe(api, namespace, pod, container, command, timeout):
    """(exit code or None, stdout, stderr) of ``command`` in the pod; the whole exec is bounded by ``timeout``."""
    from kubernetes.client import CoreV1Api  # pylint: disable=import-outside-toplevel
    from kubernetes.stream import stream  # pylint: disable=import-outside-toplevel
    from kubernetes.stream.ws_client import ERROR_CHANNEL  # pylint: disable=import-outside-toplevel

    kwargs = {"command": command, "stdin": False, "stdout": True, "stderr": True, "tty": False,
              "_preload_content": False, "_request_timeout": timeout}
    if container:
        kwargs["container"] = container
    client = stream(CoreV1Api(api.client).connect_get_namespaced_pod_exec, pod, namespace, **kwargs)
    try:
        client.run_forever(timeout=timeout)
        finished = not client.is_open()
        out, err = client.read_stdout() or "", client.read_stderr() or ""
        status = client.read_channel(ERROR_CHANNEL) if finished else ""
    finally:
        client.close()
    if not finished:
        return None, out, err
    code, message = exec_status(status)
    return code, out, err + message


def exec_status(text):
    """(exit code, message) from the exec's status channel: 0, the NonZeroExitCode cause, or 255 and the API's message."""
    try:
        status = json.loads(text) if text else {}
    except ValueError:
        return 255, text
    if not isinstance(status, dict) or status.get("status") == "Success" or not status:
        return 0, ""
    for cause in (status.get("details") or {}).get("causes") or []:
        if cause.get("reason") == "ExitCode":
            try:
                return int(cause.get("message")), ""
            except (TypeError, ValueError):
                break
    # The command could not start (no such program in the container) or the exec itself failed.
    return 255, (status.get("message") or "").split("\n", 1)[0]


def run_module(module):
    params = module.params
    ns = params["namespace"]
    try:
        targets = check.parse_targets(params["targets"])
    except check.TargetError as exc:
        module.fail_json(msg=str(exc))
    api = connect(module)
    try:
        if params["pod"]:
            pod = api.find("Pod", ns, params["pod"])
            if pod is None:
                module.fail_json(msg=f"The pod {ns}/{params['pod']} does not exist.")
        else:
            selector, what = params["label_selector"], params["label_selector"]
            if params["workload"]:
                kind, wname = params["workload"]["kind"], params["workload"]["name"]
                obj = api.find(kind, ns, wname)
                if obj is None:
                    module.fail_json(msg=f"The {kind} {ns}/{wname} does not exist.")
                labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
                if not labels:
                    module.fail_json(msg=f"The {kind} {ns}/{wname} has no matchLabels to find its pods by.")
                selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
                what = f"the selector of {kind} {wname} ({selector})"
            pod = check.choose_pod(api.list("Pod", ns, label_selector=selector)["items"])
            if pod is None:
                module.fail_json(msg=f"No running and ready pod in namespace {ns} matches {what}.")
    except KubeError as exc:
        module.fail_json(msg=f"The pods of namespace {ns} could not be read: {exc}")
    name = pod["metadata"]["name"]
    where = f"pod {ns}/{name}" + (f" (container {params['container']})" if params["container"] else "")
    # The probe tries the targets one after another: the exec may take each one's timeout, plus the exec itself.
    budget = params["timeout"] * len(targets) + 10
    command = check.probe_command(params["interpreter"], targets, params["timeout"])
    try:
        code, out, err = exec_probe(api, ns, name, params["container"], command, budget)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # ApiException, websocket and connection errors alike: one sentence.
        reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
        module.fail_json(msg=f"The exec in {where} failed: {str(reason).strip().rstrip('.')}.")
    rows = check.parse_output(out)
    if rows is None:
        detail = (err or out).strip().splitlines()[:1] or ["no output"]
        ended = "did not finish in time" if code is None else f"exited with {code}"
        module.fail_json(msg=f"The dependency probe could not run with {params['interpreter']} in {where} - it {ended} "
                             f"({detail[0][:300].rstrip('. ')}); the container needs Python 3 as the interpreter option names.")
    results, summary = check.judge(rows, where)
    module.exit_json(changed=False, pod=name, results=results, summary=summary,
                     ok=summary["ok"] == summary["targets"],
                     failures=[row["error"] for row in results if not row["ok"]])
