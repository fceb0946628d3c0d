# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""cert_expiry_info's runner: handshakes in parallel, one list request per namespace and source, then rows.

The rows and their verdicts are the pure functions of _tls/rows.py and _tls/x509.py.
"""

from __future__ import annotations

import datetime
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect
from ansible_collections.sre.runbooks.plugins.module_utils._tls import rows as tls_rows
from ansible_collections.sre.runbooks.plugins.module_utils._tls import x509
from ansible_collections.sre.runbooks.plugins.module_utils._tls.cert_expiry_args import check_options
from ansible_collections.sre.runbooks.plugins.module_utils._tls.probe import handshake, trust_context

MAX_WORKERS = 8
TLS_FIELD_SELECTOR = f"type={tls_rows.TLS_SECRET_TYPE}"


def error_row(source, ref, sentence):
    """A row for an object that could not be read (on_error=report): critical, with the sentence."""
    return {"source": source, "object": ref, "name": ref.split(" ", 1)[-1], "namespace": None, "subject": None,
            "issuer": None, "sans": [], "not_before": None, "not_after": None, "days_left": None, "expired": None,
            "severity": x509.CRITICAL, "message": sentence, "error": True}


class ExpiryReader:
    """Reads every source and gathers rows, plus the sentences of what could not be read."""

    def __init__(self, module, options):
        self.module = module
        self.params = module.params
        self.options = options
        self.now = datetime.datetime.now(datetime.timezone.utc)
        self.rows = []
        self.errors = []
        self.cert_manager = {"available": None, "reason": None}
        self.api_calls = 0

    def _failed(self, source, ref, exc):
        self.errors.append(str(exc))
        self.rows.append(error_row(source, ref, str(exc)))

    def endpoints(self):
        endpoints = self.options["endpoints"]
        if not endpoints:
            return
        context = trust_context(self.params["ca_path"])

        def probe(endpoint):
            try:
                return tls_rows.endpoint_row(endpoint, handshake(endpoint, context, self.params["timeout"]), self.now)
            except x509.CertError as exc:
                return exc

        with ThreadPoolExecutor(max_workers=min(MAX_WORKERS, len(endpoints))) as pool:
            for endpoint, outcome in zip(endpoints, pool.map(probe, endpoints)):
                if isinstance(outcome, x509.CertError):
                    self._failed("endpoint", f"TLS endpoint {endpoint['host']}:{endpoint['port']}", outcome)
                else:
                    self.rows.append(outcome)

    def _namespace_exists(self, api, namespace):
        """False when the namespace does not exist; True when it does or we may not tell (403)."""
        self.api_calls += 1
        try:
            return api.find("Namespace", None, namespace) is not None
        except KubeError as exc:
            if exc.status == 403:
                return True
            raise

    def _certificates(self, api, namespace):
        if self.cert_manager["available"] is False:
            return []
        self.api_calls += 1
        try:
            items = api.list("Certificate", namespace)["items"]
        except KubeError as exc:
            if exc.status == 404:
                self.cert_manager = {"available": False, "reason": "the cert-manager.io/v1 Certificate resource is "
                                                                   "not served by this cluster (no cert-manager)"}
                return []
            raise
        self.cert_manager["available"] = True
        return items

    def kubernetes(self):
        namespaces = self.options["namespaces"]
        if not namespaces:
            return
        api = connect(self.module)
        for namespace in namespaces:
            if not self._namespace_exists(api, namespace):
                self._failed("namespace", f"Namespace {namespace}", f"Namespace {namespace} does not exist.")
                continue
            if "secrets" in self.options["include"]:
                self.api_calls += 1
                for secret in api.list("Secret", namespace, field_selector=TLS_FIELD_SELECTOR)["items"]:
                    self._add(tls_rows.secret_row, secret, "secret")
            if "certificates" in self.options["include"]:
                for certificate in self._certificates(api, namespace):
                    self._add(tls_rows.certificate_row, certificate, "certificate")

    def _add(self, make_row, obj, source):
        try:
            self.rows.append(make_row(obj, self.now))
        except x509.CertError as exc:
            metadata = obj.get("metadata") or {}
            self._failed(source, f"{obj.get('kind') or source} {metadata.get('namespace')}/{metadata.get('name')}", exc)

    def result(self):
        for row in self.rows:
            if "severity" not in row:
                x509.judge(row, self.params["warning_days"], self.params["critical_days"])
        rows = sorted(self.rows, key=lambda row: (-x509.RANK[row["severity"]], row["days_left"] is None,
                                                  row["days_left"] or 0, row["object"]))
        problems = [{"severity": row["severity"], "source": row["source"], "object": row["object"],
                     "namespace": row["namespace"], "name": row["name"], "days_left": row["days_left"],
                     "message": row["message"]} for row in rows if row["severity"] != x509.OK]
        return {"changed": False, "certificates": rows, "problems": problems, "summary": x509.summary(rows),
                "errors": self.errors, "cert_manager": self.cert_manager, "api_calls": self.api_calls}


def _require_cryptography(module):
    try:
        import cryptography  # noqa: F401 pylint: disable=import-outside-toplevel,unused-import
    except ImportError:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=traceback.format_exc())


def run_module(module):
    """Check the options, read every source and exit with the rows (or one sentence)."""
    try:
        options = check_options(module.params)
    except InputError as exc:
        module.fail_json(msg=str(exc))
    _require_cryptography(module)
    reader = ExpiryReader(module, options)
    try:
        reader.endpoints()
        reader.kubernetes()
    except (x509.CertError, KubeError) as exc:
        module.fail_json(msg=str(exc))
    result = reader.result()
    if result["errors"] and module.params["on_error"] == "fail":
        others = len(result["errors"]) - 1
        more = f" ({others} more: see errors)" if others else ""
        module.fail_json(msg=result["errors"][0].rstrip(".") + more + ".", **result)
    module.exit_json(**result)
