"""health_check_info main(): parts checked against their modules' specs, read in child processes, one key each.

The parts' work is faked here (the real reads are tests/integration/health/test_health_check_info.py);
the children are real processes, so the fakes reach them through fork.
"""

from __future__ import annotations

import os

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.common.warnings import get_warning_messages
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sre.runbooks.plugins.module_utils._health import read_runner
from ansible_collections.sre.runbooks.plugins.modules import health_check_info

from .utils import AnsibleExitJson, AnsibleFailJson, run_module

PG = {"host": "db.example", "port": 5433, "user": "monitor", "password": "pg-secret-pw", "database": "platform"}


def fake_work(result):
    def work(module):
        return dict(result, pid=os.getpid(), seen=dict(module.params), check_mode=module.check_mode)
    return work


@pytest.fixture(autouse=True)
def quiet_environment(monkeypatch):
    for name in ("PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE", "PGSSLMODE", "REDISCLI_AUTH"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def fake_parts(monkeypatch):
    """Every part's work replaced by one that returns what it was given."""
    for name, part in read_runner.PARTS.items():
        monkeypatch.setattr(part, "work", fake_work({"part": name}))


def test_every_part_given_is_read_in_a_process_of_its_own_with_its_module_defaults(fake_parts):
    result = run_module(health_check_info, {"postgres": PG, "redis": {"host": "cache"}, "backups": {"dest": "/b"},
                                            "kubernetes": {"namespaces": ["ai"]}}, check=True,
                        expect=AnsibleExitJson)
    assert result["changed"] is False and result["failed_parts"] == []
    assert set(result) >= {"postgres", "redis", "backups", "kubernetes"} and "slo" not in result and "kafka" not in result
    pids = {result[name]["pid"] for name in ("postgres", "redis", "backups", "kubernetes")}
    assert len(pids) == 4 and os.getpid() not in pids
    # Each part got its module's defaults; check mode reaches it.
    assert result["postgres"]["seen"]["sslmode"] == "prefer" and result["postgres"]["seen"]["connect_timeout"] == 10
    assert result["redis"]["seen"]["port"] == 6379 and result["redis"]["seen"]["socket_timeout"] == 10.0
    assert result["kubernetes"]["check_mode"] is True
    assert set(result["seconds"]) == {"postgres", "redis", "backups", "kubernetes"}
    assert all(seconds >= 0 for seconds in result["seconds"].values())


def test_no_part_reads_nothing(fake_parts):
    result = run_module(health_check_info, {}, expect=AnsibleExitJson)
    assert result["failed_parts"] == [] and result["seconds"] == {}


def test_slo_does_not_fail_on_verdicts_unless_asked(fake_parts):
    result = run_module(health_check_info, {"slo": {"source": "probe", "probe": {"url": "http://127.0.0.1:1/"}},
                                            "postgres": PG}, expect=AnsibleExitJson)
    assert result["slo"]["seen"]["fail_on"] == "never"


def test_a_part_that_cannot_read_is_reported_in_its_key_and_the_others_read(monkeypatch, fake_parts):
    def refused(module):
        module.fail_json(msg="Cannot connect to PostgreSQL at db.example:5433 as monitor: password authentication failed.")

    def warns(module):
        module.warn("the namespace ai has no pods")
        return {"pods": []}

    monkeypatch.setattr(read_runner.PARTS["postgres"], "work", refused)
    monkeypatch.setattr(read_runner.PARTS["kubernetes"], "work", warns)
    result = run_module(health_check_info, {"postgres": PG, "kubernetes": {}, "redis": {}}, expect=AnsibleExitJson)
    assert result["failed_parts"] == ["postgres"]
    assert result["postgres"] == {"changed": False, "failed": True,
                                  "msg": "Cannot connect to PostgreSQL at db.example:5433 as monitor: password "
                                         "authentication failed."}
    assert result["kubernetes"] == {"pods": [], "changed": False}
    assert "kubernetes: the namespace ai has no pods" in get_warning_messages()
    assert result["redis"]["part"] == "redis"


def test_a_part_that_crashes_is_one_sentence(monkeypatch, fake_parts):
    def crashes(_module):
        return {}["missing"]

    monkeypatch.setattr(read_runner.PARTS["backups"], "work", crashes)
    result = run_module(health_check_info, {"backups": {"dest": "/b"}, "redis": {}}, expect=AnsibleExitJson)
    assert result["backups"]["msg"] == "pg_backup_info stopped on an unexpected error: KeyError: 'missing'."
    assert result["failed_parts"] == ["backups"]


def masking_exit_json(module, **result):
    """exit_json's masking as Ansible applies it: every no_log value of the module replaced in the result."""
    raise AnsibleExitJson(remove_values(result, module.no_log_values))


def test_secrets_of_every_part_are_masked_in_what_comes_back(monkeypatch, fake_parts):
    def echoes(module):
        module.fail_json(msg=f"the server refused {module.params['password']}")

    monkeypatch.setattr(read_runner.PARTS["postgres"], "work", echoes)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", masking_exit_json)
    with patch_module_args({"postgres": PG, "redis": {"password": "redis-secret-pw"}}):
        with pytest.raises(AnsibleExitJson) as ended:
            health_check_info.main()
    result = ended.value.args[0]
    text = repr(result)
    assert "pg-secret-pw" not in text and "redis-secret-pw" not in text
    assert result["postgres"]["msg"] == "the server refused ********"


@pytest.mark.parametrize("args, message", [
    ({"redis": {"host": "cache", "operation": "flush"}}, "redis has no option operation; it takes the options of "
                                                         "the sre.runbooks.redis connection"),
    ({"postgres": dict(PG, port=0)}, "postgres.port"),
    ({"backups": {"label": "daily"}}, "backups: one of the following is required: dest, s3."),
    ({"kubernetes": {"namespaces": "ai", "thresholds": {"restarts": "many"}}}, "kubernetes: "),
    ({"kafka": {"bootstrap_servers": "k0:9092", "samples": 0}}, "kafka.samples"),
    ({"slo": {"source": "probe"}}, "slo: source is probe but all of the following are missing: probe."),
    ({"postgres": ["db"]}, "postgres"),
    ({"timeout": 0}, "timeout"),
])
def test_bad_options_fail_the_task_in_one_sentence_naming_the_part(fake_parts, args, message):
    result = run_module(health_check_info, dict(args, postgres=args.get("postgres", PG)), expect=AnsibleFailJson)
    assert message in result["msg"], result["msg"]
    assert "\n" not in result["msg"] and "pg-secret-pw" not in repr(result)


def test_kafka_lag_is_read_only_when_the_cluster_answered(monkeypatch):
    calls = []

    def cluster_down(module):
        calls.append(("cluster", module.params["include_internal"], "samples" in module.params))
        module.fail_json(msg="Cannot reach the Kafka cluster at k0:9092: connection refused.")

    def cluster_up(module):
        calls.append(("cluster", module.params["include_internal"], "samples" in module.params))
        module.exit_json(topics=[])

    def lag(module):
        calls.append(("lag", module.params["samples"]))
        module.warn("group idle")
        module.exit_json(status="OK")

    monkeypatch.setattr(read_runner.lag_runner, "run_module", lag)
    kafka = read_runner.PARTS["kafka"]
    params, _secrets = kafka.check({"bootstrap_servers": "k0:9092", "samples": 2, "interval": 0.5})

    from ansible_collections.sre.runbooks.plugins.module_utils._kafka import cluster_runner
    monkeypatch.setattr(cluster_runner, "run_module", cluster_down)
    down = kafka.run(object(), params)
    assert down["cluster"]["failed"] is True and down["lag"]["skipped"] is True and calls == [("cluster", False, False)]

    calls.clear()
    monkeypatch.setattr(cluster_runner, "run_module", cluster_up)
    up = kafka.run(object(), params)
    assert up["cluster"] == {"topics": [], "changed": False} and up["lag"] == {"status": "OK", "changed": False}
    assert up["warnings"] == ["group idle"] and calls == [("cluster", False, False), ("lag", 2)]


def test_postgres_read_returns_the_query_row_and_closes_the_connection(monkeypatch):
    class Cursor:
        description = [type("C", (), {"name": "total"})(), type("C", (), {"name": "max_connections"})()]
        statements = []

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def execute(self, query, args=()):
            self.statements.append(query)

        def fetchall(self):
            return [(3, 100)]

    class Conn:
        closed = False

        def cursor(self):
            return Cursor()

        def close(self):
            Conn.closed = True

    monkeypatch.setattr(read_runner, "connect", lambda module: Conn())
    result = read_runner.read_postgres(object.__new__(type("M", (), {"params": PG})))
    assert result == {"query_result": [{"total": 3, "max_connections": 100}]}
    assert Conn.closed and any("statement_timeout" in str(s) or "set_config" in str(s) for s in Cursor.statements)
    assert "pg_stat_activity" in Cursor.statements[-1]
