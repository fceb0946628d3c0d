# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""REST access to the experiment platform (docs/platform-api.md): V2 production, V1 experiments, V3 quarantine.

``PLATFORM_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.platform``
doc fragment. :class:`PlatformClient` sends JSON requests and raises :class:`PlatformError`
with one sentence naming the API, the request and the cause; ``status`` and ``code`` let a
module tell "not found" from "conflict".
"""

from __future__ import annotations

import re
import uuid
from urllib.parse import quote

from ansible.module_utils.basic import env_fallback

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, describe_url, exchange, join_url
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import transport_args, transport_ranges

PLATFORM_COMMON_ARGS = {
    "platform_v1_url": {"type": "str", "default": "http://localhost:8002", "fallback": (env_fallback, ["PLATFORM_V1_URL"])},
    "platform_v2_url": {"type": "str", "default": "http://localhost:8001", "fallback": (env_fallback, ["PLATFORM_V2_URL"])},
    "platform_v3_url": {"type": "str", "default": "http://localhost:8003", "fallback": (env_fallback, ["PLATFORM_V3_URL"])},
    "platform_token": {"type": "str", "no_log": True, "fallback": (env_fallback, ["PLATFORM_API_TOKEN"])},
    **transport_args("platform"),
}
# Passed to RunbookModule(ranges=...).
PLATFORM_RANGES = transport_ranges("platform")

API_NAMES = {"v1": "V1 experiments API", "v2": "V2 production API", "v3": "V3 quarantine API"}
USER_AGENT = "sre.runbooks"
# What the platform assigns (docs/platform-api.md); used only to explain a 400, never to refuse input.
EXPERIMENT_ID_PATTERN = re.compile(r"^exp-[0-9a-f]{12}$")


class PlatformError(Exception):
    """An expected platform failure; ``str()`` is one sentence, ``status``/``code`` say which."""

    def __init__(self, message, status=None, code=None, payload=None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.payload = payload


class PlatformClient:
    """JSON requests to the three platform APIs, configured from PLATFORM_COMMON_ARGS."""

    def __init__(self, params, agent=USER_AGENT):
        self.params = params
        self.agent = agent
        self.requests = []  # (request id, method, api, path, status): the audit trail of this task

    def base(self, api):
        return self.params[f"platform_{api}_url"]

    def where(self, api):
        return f"the {API_NAMES[api]} at {describe_url(self.base(api))}"

    def request(self, api, method, path, body=None, query=None, expect=(200,)):
        """Send one request; return (status, JSON body) when the status is in ``expect``, else raise."""
        params = self.params
        request_id = f"sre-{uuid.uuid4().hex[:16]}"
        try:
            resp = exchange(method, join_url(self.base(api), path, query), body=body,
                            headers={"X-Request-Id": request_id}, timeout=params.get("platform_timeout") or 30.0,
                            validate_certs=params.get("platform_validate_certs", True),
                            ca_path=params.get("platform_ca_path"), token=params.get("platform_token"), agent=self.agent)
        except TransportError as exc:
            raise PlatformError(f"Cannot reach {self.where(api)}: {exc.cause}.") from None
        self.requests.append({"request_id": request_id, "api": api, "method": method, "path": path, "status": resp.status})
        if resp.status in expect:
            if resp.json is None and resp.body:
                raise PlatformError(f"{_cap(self.where(api))} answered {method} {path} with a body that is not JSON.",
                                    status=resp.status)
            if resp.json is not None and not isinstance(resp.json, dict):
                raise PlatformError(f"{_cap(self.where(api))} answered {method} {path} with JSON that is not an "
                                    f"object ({type(resp.json).__name__}).", status=resp.status)
            return resp.status, resp.json if resp.json is not None else {}
        error = (resp.json or {}).get("error") if isinstance(resp.json, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        detail = error.get("message") if isinstance(error, dict) else None
        if resp.status in (401, 403):
            cause = "the API token was refused" if params.get("platform_token") else "it needs an API token (platform_token)"
        else:
            cause = (detail or _reason_phrase(resp.status)).rstrip(".")
        raise PlatformError(f"{_cap(self.where(api))} answered HTTP {resp.status} to {method} {path}: {cause}.",
                            status=resp.status, code=code, payload=resp.json)


def _cap(text):
    return text[:1].upper() + text[1:]


def _reason_phrase(status):
    phrases = {400: "bad request", 404: "not found", 405: "method not allowed", 409: "conflict",
               422: "unprocessable entity", 429: "too many requests", 500: "internal server error",
               502: "bad gateway", 503: "service unavailable", 504: "gateway timeout"}
    return phrases.get(status, "unexpected status")


def experiment_path(experiment_id, template="/api/v1/experiments/{id}"):
    """An API path with the experiment id percent-encoded (an id is data, never a path)."""
    return template.format(id=quote(str(experiment_id), safe=""))


def get_experiment(client, experiment_id):
    """The experiment (GET /api/v1/experiments/{id}) or a PlatformError that says what was wrong with the id."""
    try:
        return experiment_record(client.request("v1", "GET", experiment_path(experiment_id))[1], client)
    except PlatformError as exc:
        if exc.status == 404:
            raise PlatformError(f"Experiment {experiment_id!r} does not exist on {client.where('v1')}.",
                                status=404, code=exc.code or "not_found", payload=exc.payload) from None
        if exc.status == 400:
            hint = "" if EXPERIMENT_ID_PATTERN.match(str(experiment_id)) else " (ids look like exp-0123456789ab)"
            raise PlatformError(f"{experiment_id!r} is not a valid experiment id for {client.where('v1')}{hint}.",
                                status=400, code=exc.code or "invalid_id", payload=exc.payload) from None
        raise


def find_experiment(client, name):
    """The experiment named ``name`` (names are unique on the platform), or None."""
    data = client.request("v1", "GET", "/api/v1/experiments", query={"name": name})[1]
    listed = data.get("experiments") or []
    if not isinstance(listed, list) or not all(isinstance(item, dict) for item in listed):
        raise PlatformError(f"{_cap(client.where('v1'))} listed experiments that are not a list of objects.")
    matches = [experiment_record(item, client) for item in listed if item.get("name") == name]
    if len(matches) > 1:
        raise PlatformError(f"{len(matches)} experiments are named {name!r} on {client.where('v1')}; use its id.")
    return get_experiment(client, matches[0]["id"]) if matches else None


def experiment_record(data, client):
    """``data`` when it is an experiment as the platform describes one (an id and a name as text), else PlatformError.

    An experiment without an id cannot be acted on: every later request names it by id.
    """
    if not isinstance(data.get("id"), str) or not data["id"] or not isinstance(data.get("name", ""), str):
        raise PlatformError(f"{_cap(client.where('v1'))} answered an experiment without a text id and name "
                            f"(id {str(data.get('id'))[:40]!r}).")
    return data


def resolve_experiment(client, experiment_id=None, name=None):
    """The experiment by id, or by name; PlatformError (status 404) when it does not exist."""
    if not experiment_id and not name:
        raise PlatformError("Give experiment_id or experiment_name; an empty one names no experiment.")
    if experiment_id:
        return get_experiment(client, experiment_id)
    found = find_experiment(client, name)
    if found is None:
        raise PlatformError(f"No experiment named {name!r} exists on {client.where('v1')}.", status=404, code="not_found")
    return found
