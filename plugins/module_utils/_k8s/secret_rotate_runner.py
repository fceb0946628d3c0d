# -*- coding: utf-8 -*-
# Copyright: sre.runbooks contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Note that this module util is **PRIVATE** to the collection. It can have breaking changes at any time.
# Do not use this from other collections or standalone plugins/modules!

"""k8s_secret_rotate's runner (C1): the PostgreSQL role (if any), then the Secret, then its consumers.

Order matters so the application never holds a dead password: ALTER ROLE, then the Secret (with the
rotation annotation, only if nobody changed it since it was read; otherwise the role gets its old
password back), then a rolling restart of the workloads that read the key, a wait for each with
the fail-fast diagnostics of wait.RolloutWaiter, and a login with the new value (and not the old).
The decisions are the pure functions of secret_rotation_plan.
"""

from __future__ import annotations

import datetime

from ansible_collections.sre.runbooks.plugins.module_utils._common.checks import InputError, plain_text
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import rollout_plan as ro
from ansible_collections.sre.runbooks.plugins.module_utils._k8s import secret_rotation_plan as plan
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError, connect, object_ref
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.health import HealthInputError, check_namespace_name
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.rollout_base import failure_sentence
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.wait import RolloutWaiter
from ansible_collections.sre.runbooks.plugins.module_utils._postgres import role_password
from ansible_collections.sre.runbooks.plugins.module_utils._postgres.connection import PostgresError


class RotationFailed(Exception):
    """The task fails with this sentence, after the result gathered so far."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_options(params):
    try:
        check_namespace_name(params["namespace"])
    except HealthInputError as exc:
        raise InputError(str(exc).replace("namespaces:", "namespace:", 1)) from None
    plain_text(params["name"], "name")
    if not params["name"].strip() or "/" in params["name"]:
        raise InputError(f"name {params['name'][:60]!r} is not a Secret name.")
    try:
        plan.check_key(params["key"])
        if params["alphabet"] is not None:
            plan.generate_value(1, params["alphabet"])
    except plan.RotationInputError as exc:
        raise InputError(str(exc)) from None
    if params["value"] is not None and not params["value"]:
        raise InputError("value must not be empty (leave it out to generate one).")
    if params["value"] is not None and params["alphabet"] is not None:
        raise InputError("Give either value or alphabet (to generate a value), not both.")


class SecretRotator:
    """One rotation; ``result`` is filled as it goes, so a failure still reports what was done."""

    def __init__(self, module, api):
        self.module = module
        self.api = api
        self.params = module.params
        self.check_mode = module.check_mode
        self.namespace, self.name, self.key = self.params["namespace"], self.params["name"], self.params["key"]
        self.ref = object_ref("Secret", self.namespace, self.name)
        self.result = {"changed": False, "secret": {"namespace": self.namespace, "name": self.name, "key": self.key,
                                                    "rotated_at": None, "key_created": False},
                       "consumers": [], "postgres": None}
        self.pg_conn = None

    # -------------------------------------------------------------------------- steps

    def _read_secret(self):
        secret = self.api.find("Secret", self.namespace, self.name)
        if secret is None:
            raise RotationFailed(f"{self.ref} does not exist.")
        return secret

    def _consumers(self):
        workloads = []
        for kind in self.params["kinds"]:
            workloads.extend(self.api.list(kind, self.namespace)["items"])
        return plan.consumers(workloads, self.name, self.key)

    def _new_value(self, old):
        given = self.params["value"]
        if given is not None:
            return given
        value = plan.generate_value(self.params["length"], self.params["alphabet"])
        self.module.no_log_values.add(value)
        return value if value != old else self._new_value(old)

    def _postgres_prepare(self):
        options = self.params["postgres"]
        if not options:
            return
        self.result["postgres"] = {"role": options["role"], "password_set": False, "login_verified": None,
                                   "old_password_rejected": None}
        self.pg_conn = role_password.open_connection(options)
        role_password.role_exists(self.pg_conn, options["role"])

    def _write_secret(self, secret, value, old):
        rotated_at = _now()
        pg = self.params["postgres"]
        if pg:
            role_password.set_password(self.pg_conn, pg["role"], value)
            self.result["postgres"]["password_set"] = True
        try:
            self.api.patch("Secret", self.namespace, self.name,
                           plan.secret_patch(self.key, value, rotated_at, secret["metadata"]["resourceVersion"]),
                           patch_type="merge")
        except KubeError as exc:
            if pg and old is not None:
                role_password.set_password(self.pg_conn, pg["role"], old)
                self.result["postgres"]["password_set"] = False
                raise RotationFailed(f"{self.ref} could not be written ({str(exc).rstrip('.')}); PostgreSQL role "
                                     f"{pg['role']} has its old password again.") from None
            raise RotationFailed(f"{self.ref} could not be written: {str(exc).rstrip('.')}.") from None
        return rotated_at

    def _restart(self, consumers, restarted_at):
        for consumer in consumers:
            self.api.patch(consumer["kind"], self.namespace, consumer["name"], ro.restart_patch(restarted_at))
            consumer["restarted"] = True

    def _wait(self, consumers):
        failures = []
        for consumer in consumers:
            waiter = RolloutWaiter(self.api, consumer["kind"], self.namespace, consumer["name"],
                                   self.params["fail_fast_reasons"])
            outcome = waiter.wait(self.params["wait_timeout"])
            consumer["wait"] = {"outcome": outcome["outcome"], "reason": outcome["reason"],
                                "message": outcome["message"], "elapsed": outcome["elapsed"]}
            consumer["failing_pods"] = outcome["failing_pods"]
            if outcome["outcome"] != "complete":
                failures.append(failure_sentence(object_ref(consumer["kind"], self.namespace, consumer["name"]),
                                                 outcome, self.params["wait_timeout"]))
        if failures:
            more = f" ({len(failures) - 1} more: see consumers)" if len(failures) > 1 else ""
            raise RotationFailed(f"{self.ref} was rotated but a consumer did not roll out: "
                                 f"{failures[0].rstrip('.')}{more}.")

    def _verify_login(self, value, old):
        pg = self.params["postgres"]
        if not pg:
            return
        report = self.result["postgres"]
        report["login_verified"] = role_password.login_works(pg, pg["role"], value)
        if not report["login_verified"]:
            raise RotationFailed(f"PostgreSQL role {pg['role']} cannot log in with the new password.")
        if old is not None and old != value:
            report["old_password_rejected"] = not role_password.login_works(pg, pg["role"], old)
            if not report["old_password_rejected"]:
                raise RotationFailed(f"PostgreSQL role {pg['role']} still logs in with the old password "
                                     "(check pg_hba.conf: trust authentication ignores passwords).")

    def _align_role(self, value):
        """The Secret holds ``value`` already; give the role that password too if it does not log in with it."""
        pg = self.params["postgres"]
        if not pg or role_password.login_works(pg, pg["role"], value):
            if pg:
                self.result["postgres"]["login_verified"] = True
            return
        self.result["changed"] = True
        if self.check_mode:
            return
        role_password.set_password(self.pg_conn, pg["role"], value)
        self.result["postgres"]["password_set"] = True
        self._verify_login(value, None)

    # -------------------------------------------------------------------------- the run

    def run(self):
        secret = self._read_secret()
        old = plan.current_value(secret, self.key)
        if old:
            self.module.no_log_values.add(old)
        self.result["secret"]["rotated_at"] = ((secret["metadata"].get("annotations") or {}).get(plan.ROTATED_AT))
        consumers = self._consumers() if self.params["restart"] else []
        self.result["consumers"] = consumers
        for consumer in consumers:
            consumer.update({"restarted": False, "wait": None, "failing_pods": []})
        self._postgres_prepare()
        value = self._new_value(old)
        if value == old:  # a given value the Secret already holds: only the role may lag behind
            self._align_role(value)
            return self.result
        self.result["changed"] = True
        self.result["secret"]["key_created"] = old is None and self.key not in (secret.get("data") or {})
        rotated_at = _now() if self.check_mode else self._write_secret(secret, value, old)
        self.result["secret"]["rotated_at"] = rotated_at
        if self.module._diff:
            self.result["diff"] = {"before": plan.diff_view(secret, self.key),
                                   "after": plan.diff_view(secret, self.key, rotated_at, consumers)}
        if self.check_mode:
            return self.result
        self._restart(consumers, rotated_at)
        if self.params["wait"]:
            self._wait(consumers)
        self._verify_login(value, old)
        return self.result


def run_module(module):
    try:
        check_options(module.params)
    except InputError as exc:
        module.fail_json(msg=str(exc))
    api = connect(module)
    rotator = SecretRotator(module, api)
    try:
        result = rotator.run()
    except RotationFailed as exc:
        module.fail_json(msg=str(exc), **rotator.result)
    except (KubeError, PostgresError) as exc:
        module.fail_json(msg=str(exc), **rotator.result)
    finally:
        if rotator.pg_conn is not None:
            rotator.pg_conn.close()
    module.exit_json(**result)
