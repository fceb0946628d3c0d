# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""Alertmanager's v2 silences API, with every failure as one sentence naming the server.

``ALERTMANAGER_COMMON_ARGS`` is documented, option for option, by the ``sre.runbooks.alertmanager``
doc fragment.
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.sre.runbooks.plugins.module_utils._http.client import TransportError, describe_url, exchange_with, join_url
from ansible_collections.sre.runbooks.plugins.module_utils._http.client import server_args, transport_ranges

ALERTMANAGER_COMMON_ARGS, ALERTMANAGER_MUTUALLY_EXCLUSIVE, ALERTMANAGER_REQUIRED_TOGETHER = server_args(
    "alertmanager", "ALERTMANAGER", "http://localhost:9093")
ALERTMANAGER_RANGES = transport_ranges("alertmanager")


class AlertmanagerError(Exception):
    """An expected Alertmanager failure; ``str()`` is one sentence fit for fail_json."""


class AlertmanagerClient:
    """The silences of one Alertmanager, configured from ALERTMANAGER_COMMON_ARGS."""

    def __init__(self, params):
        self.url = params["alertmanager_url"]
        self.params = params

    @property
    def where(self):
        return describe_url(self.url)

    def _call(self, method, path, body=None, what="answer"):
        try:
            resp = exchange_with(self.params, "alertmanager", method, join_url(self.url, path), body=body)
        except TransportError as exc:
            raise AlertmanagerError(f"Cannot reach Alertmanager at {self.where}: {exc.cause}.") from None
        if resp.status == 404 and what == "silence":
            return None
        if resp.status in (401, 403):
            raise AlertmanagerError(f"Alertmanager at {self.where} refused the credentials (HTTP {resp.status}).")
        if resp.status >= 400:
            raise AlertmanagerError(f"Alertmanager at {self.where} refused {method} {path.split('?')[0]} "
                                    f"(HTTP {resp.status}): {_message(resp)}.")
        return resp

    def list_silences(self):
        resp = self._call("GET", "/api/v2/silences")
        if not isinstance(resp.json, list) or not all(isinstance(item, dict) and item.get("id") for item in resp.json):
            raise AlertmanagerError(f"Alertmanager at {self.where} did not answer GET /api/v2/silences with a JSON list "
                                    f"of silences (is {self.where} an Alertmanager?).")
        return resp.json

    def get_silence(self, silence_id):
        resp = self._call("GET", "/api/v2/silence/" + quote(str(silence_id), safe=""), what="silence")
        if resp is None:
            return None
        if not isinstance(resp.json, dict) or not resp.json.get("id"):
            raise AlertmanagerError(f"Alertmanager at {self.where} did not answer with the silence as JSON.")
        return resp.json

    def post_silence(self, body):
        resp = self._call("POST", "/api/v2/silences", body=body)
        silence_id = resp.json.get("silenceID") if isinstance(resp.json, dict) else None
        if not silence_id:
            raise AlertmanagerError(f"Alertmanager at {self.where} did not return the silence's ID.")
        return silence_id

    def expire_silence(self, silence_id):
        self._call("DELETE", "/api/v2/silence/" + quote(str(silence_id), safe=""))


def _message(resp):
    """Alertmanager's own reason: a JSON string, a JSON object's message, or the body's first line."""
    data = resp.json
    if isinstance(data, str):
        text = data
    elif isinstance(data, dict):
        text = str(data.get("message") or data.get("error") or data)
    else:
        text = resp.body.decode("utf-8", "replace") if resp.body else "no reason given"
    text = " ".join(text.split())[:300].rstrip(".")
    return text or "no reason given"
