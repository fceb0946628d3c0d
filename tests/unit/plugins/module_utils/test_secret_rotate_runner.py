"""k8s_secret_rotate's runner with a fake API and a fake PostgreSQL: the order of the steps, the role's old
password put back when the Secret cannot be written, check mode, and a value the Secret already holds."""

from __future__ import annotations

import base64

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s import secret_rotate_runner as runner
from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError


class FakeModule:
    def __init__(self, check_mode=False, **params):
        self.params = {"namespace": "shop", "name": "db", "key": "password", "value": None, "length": 32,
                       "alphabet": None, "restart": True, "kinds": ["Deployment"], "wait": False,
                       "wait_timeout": 30, "fail_fast_reasons": [], "postgres": None, **params}
        self.check_mode = check_mode
        self._diff = True
        self.no_log_values = set()


class FakeApi:
    def __init__(self, conflict=False):
        self.secret = {"metadata": {"namespace": "shop", "name": "db", "resourceVersion": "7"},
                       "data": {"password": base64.b64encode(b"old").decode()}}
        self.deployments = [{"kind": "Deployment", "metadata": {"name": "api"}, "spec": {"template": {"spec": {
            "containers": [{"name": "a", "env": [{"name": "P", "valueFrom": {"secretKeyRef": {
                "name": "db", "key": "password"}}}]}]}}}}]
        self.conflict = conflict
        self.calls = []

    def find(self, kind, namespace, name):
        return self.secret if (kind, name) == ("Secret", "db") else None

    def list(self, kind, namespace=None, **_selectors):
        return {"items": self.deployments if kind == "Deployment" else []}

    def patch(self, kind, namespace, name, body, patch_type="strategic"):
        self.calls.append(("patch", kind, name))
        if kind == "Secret" and self.conflict:
            raise KubeError("the object has been modified", 409, "Conflict")
        return {}


@pytest.fixture
def fake_pg(monkeypatch):
    log = []
    monkeypatch.setattr(runner.role_password, "open_connection", lambda params, **kw: "conn")
    monkeypatch.setattr(runner.role_password, "role_exists", lambda conn, role: log.append(("exists", role)))
    monkeypatch.setattr(runner.role_password, "set_password",
                        lambda conn, role, value: log.append(("set", role, value)))
    passwords = {"current": "old"}

    def login_works(params, role, value):
        log.append(("login", value))
        return value == passwords["current"]
    monkeypatch.setattr(runner.role_password, "login_works", login_works)
    return log, passwords


PG = {"role": "app", "host": "h", "port": 5432, "user": "postgres", "password": "x", "database": "d"}


def test_role_gets_its_old_password_back_when_the_secret_cannot_be_written(fake_pg):
    log, _passwords = fake_pg
    api = FakeApi(conflict=True)
    rotator = runner.SecretRotator(FakeModule(value="new", postgres=PG), api)
    with pytest.raises(runner.RotationFailed, match="could not be written .*role app has its old password again"):
        rotator.run()
    assert [entry for entry in log if entry[0] == "set"] == [("set", "app", "new"), ("set", "app", "old")]
    assert ("patch", "Deployment", "api") not in api.calls and rotator.result["postgres"]["password_set"] is False


def test_order_is_role_then_secret_then_restart_then_login(fake_pg):
    log, passwords = fake_pg
    api = FakeApi()

    class Tracking(runner.SecretRotator):
        def _write_secret(self, secret, value, old):
            rotated = super()._write_secret(secret, value, old)
            passwords["current"] = value
            return rotated

    result = Tracking(FakeModule(value="new", postgres=PG), api).run()
    assert [e[0] for e in log] == ["exists", "set", "login", "login"]
    assert api.calls == [("patch", "Secret", "db"), ("patch", "Deployment", "api")]
    assert result["postgres"] == {"role": "app", "password_set": True, "login_verified": True,
                                  "old_password_rejected": True}
    assert result["changed"] and result["diff"]["after"]["restarted"] == ["Deployment/api"]


def test_check_mode_reads_only(fake_pg):
    log, _passwords = fake_pg
    api = FakeApi()
    module = FakeModule(check_mode=True, postgres=PG)
    result = runner.SecretRotator(module, api).run()
    assert result["changed"] and api.calls == [] and [e[0] for e in log] == ["exists"]
    assert [c["name"] for c in result["consumers"]] == ["api"] and not result["consumers"][0]["restarted"]
    assert "old" in module.no_log_values and len(module.no_log_values) == 2  # the old and the generated value


def test_a_value_the_secret_and_role_hold_changes_nothing(fake_pg):
    log, _passwords = fake_pg
    api = FakeApi()
    result = runner.SecretRotator(FakeModule(value="old", postgres=PG), api).run()
    assert not result["changed"] and api.calls == [] and ("set", "app", "old") not in log
    assert result["postgres"]["login_verified"] is True
