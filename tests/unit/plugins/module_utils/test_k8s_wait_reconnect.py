"""The rollout wait's first reads survive an API server that restarts (tests/integration/faults found it)."""

from __future__ import annotations

import pytest

from ansible_collections.sre.runbooks.plugins.module_utils._k8s.client import KubeError

from ..fake_kube import FakeKube
from .test_k8s_wait import deployment, replica_set, waiter

REFUSED = "Cannot reach the Kubernetes API at https://fake:6443: connection refused."


class Restarting(FakeKube):
    """Refuses the first ``down`` calls of ``method`` as an unreachable API does, then answers."""

    def __init__(self, objects, method, down, error=None):
        super().__init__(objects)
        self.method, self.down = method, down
        self.error = error or KubeError(REFUSED, 0)

    def _maybe_fail(self, method):
        if method == self.method and self.down > 0:
            self.down -= 1
            raise self.error

    def get(self, *args, **kwargs):
        self._maybe_fail("get")
        return super().get(*args, **kwargs)

    def list(self, *args, **kwargs):
        self._maybe_fail("list")
        return super().list(*args, **kwargs)


@pytest.mark.parametrize("method", ["get", "list"])
def test_an_unreachable_api_at_the_first_reads_is_retried(method):
    kube = Restarting([replica_set(2, "web:2"), deployment(done=False)], method, down=2)
    kube.script_watch("Deployment", [("MODIFIED", deployment(done=True))])
    outcome = waiter(kube).wait(30)
    assert outcome["outcome"] == "complete" and kube.down == 0


def test_an_api_that_stays_unreachable_fails_at_the_deadline():
    kube = Restarting([replica_set(2, "web:2"), deployment(done=False)], "get", down=10 ** 6)
    with pytest.raises(KubeError, match="connection refused"):
        waiter(kube).wait(0.5)


def test_an_answer_of_the_api_is_not_retried():
    kube = Restarting([replica_set(2, "web:2"), deployment(done=False)], "get", down=1,
                      error=KubeError("Deployment shop/web is forbidden.", 403, "Forbidden"))
    with pytest.raises(KubeError) as exc:
        waiter(kube).wait(30)
    assert exc.value.status == 403 and kube.down == 0
