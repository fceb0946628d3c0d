"""``make k8s-down`` must not pull the cluster from under a test session that uses it.

Sessions register as ``users/<pid>`` (tests/harness/k8s.py session()); down() refuses while one
of those processes runs, cleans the entries of processes that are gone, and ``--force``
(``FORCE=1 make k8s-down``) stops the cluster anyway. A fake state directory stands in for the
cluster here, so no control plane starts; test_control_plane.py checks the refusal against the
real one.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.harness import k8s as harness


@pytest.fixture
def root(tmp_path, monkeypatch):
    """A state directory of a stopped cluster (state.json names no running process), users/ empty."""
    monkeypatch.setenv("SRE_K8S_DIR", str(tmp_path))
    (tmp_path / "users").mkdir()
    (tmp_path / "state.json").write_text(json.dumps({"bin_dir": str(tmp_path / "bin"), "owner": "pytest"}))
    return tmp_path


def register(root, pid, owner="pytest"):
    (root / "users" / str(pid)).write_text(owner)


def gone_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_down_refuses_while_a_session_runs_and_cleans_stale_entries(root):
    stale = gone_pid()
    register(root, os.getpid())
    register(root, stale, "bench")
    (root / "users" / "not-a-pid").touch()

    with pytest.raises(harness.ClusterInUse) as refused:
        harness.down()

    assert str(refused.value) == (f"not stopping the cluster while test sessions use it (pytest pid {os.getpid()}); "
                                  "let them finish, or run FORCE=1 make k8s-down to stop it anyway.")
    assert sorted(p.name for p in (root / "users").iterdir()) == [str(os.getpid())]
    assert (root / "state.json").exists()


def test_down_goes_ahead_when_every_registered_session_is_gone(root):
    register(root, gone_pid())
    assert harness.down() == []
    assert not (root / "state.json").exists() and not (root / "users").exists()


def test_force_stops_the_cluster_in_use(root):
    register(root, os.getpid())
    assert harness.down(force=True) == []
    assert not (root / "state.json").exists() and not (root / "users").exists()


@pytest.mark.parametrize("argv, rc", [(["down"], 1), (["down", "--force"], 0), (["down", "--now"], 2)])
def test_cli_exit_status(root, capsys, argv, rc):
    register(root, os.getpid())
    assert harness.main(["k8s", *argv]) == rc
    err = capsys.readouterr().err
    if rc == 1:
        assert err.startswith("k8s: not stopping the cluster while test sessions use it (pytest pid")
        assert err.count("\n") == 1
