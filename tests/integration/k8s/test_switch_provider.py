"""I2 switch the AI provider (playbooks/switch_provider.yml) against the real control plane.

ConfigMap ``ai-config`` (AI_PROVIDER=openai) is read by Deployment ``api`` through envFrom. The
switch must set the key, roll ``api`` out (a new checksum annotation on its pod template), record
the replaced value, and switching back must restore it; check mode changes nothing.
"""

from __future__ import annotations

import uuid

import pytest

kubernetes = pytest.importorskip("kubernetes")

from tests.integration.ansible_run import run_playbook  # noqa: E402
from tests.integration.waiting import wait_until  # noqa: E402

pytestmark = pytest.mark.slow

CHECKSUM = "checksum.sre.runbooks/ai-config"
PREVIOUS = "sre.runbooks/previous-AI_PROVIDER"


@pytest.fixture(scope="module")
def ns(k8s_cluster, core, apps):
    name = f"i2-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    core.create_namespaced_config_map(name, {"metadata": {"name": "ai-config"}, "data": {"AI_PROVIDER": "openai"}})
    labels = {"app": "api"}
    apps.create_namespaced_deployment(name, {"metadata": {"name": "api"}, "spec": {
        "replicas": 2, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "containers": [{"name": "app", "image": "api:1", "envFrom": [{"configMapRef": {"name": "ai-config"}}]}]}}}})
    wait_until(lambda: (apps.read_namespaced_deployment("api", name).status.available_replicas or 0) == 2,
               "api available")
    yield name
    core.delete_namespace(name)


def switch(k8s_cluster, check=False, **extra):
    proc = run_playbook("playbooks/switch_provider.yml", extra, check=check, diff=check,
                        env={"K8S_AUTH_KUBECONFIG": str(k8s_cluster.kubeconfig)})
    return proc.returncode, proc.stdout + proc.stderr


def test_switch_records_the_previous_provider_and_switches_back(k8s_cluster, core, apps, ns):
    rc, output = switch(k8s_cluster, check=True, switch_provider_namespace=ns, switch_provider_value="anthropic")
    assert rc == 0, output[-4000:]
    assert core.read_namespaced_config_map("ai-config", ns).data == {"AI_PROVIDER": "openai"}

    rc, output = switch(k8s_cluster, switch_provider_namespace=ns, switch_provider_value="anthropic")
    assert rc == 0, output[-4000:]
    cm = core.read_namespaced_config_map("ai-config", ns)
    assert cm.data == {"AI_PROVIDER": "anthropic"} and cm.metadata.annotations[PREVIOUS] == "openai"
    template = apps.read_namespaced_deployment("api", ns)
    first = template.spec.template.metadata.annotations[CHECKSUM]
    assert "AI_PROVIDER is anthropic (was openai)" in output and "api" in output

    rc, output = switch(k8s_cluster, switch_provider_namespace=ns, switch_provider_back=True)
    assert rc == 0, output[-4000:]
    cm = core.read_namespaced_config_map("ai-config", ns)
    assert cm.data == {"AI_PROVIDER": "openai"} and cm.metadata.annotations[PREVIOUS] == "anthropic"
    dep = apps.read_namespaced_deployment("api", ns)
    assert dep.spec.template.metadata.annotations[CHECKSUM] != first and dep.status.available_replicas == 2


def test_missing_configmap_or_value_is_one_sentence(k8s_cluster, ns):
    rc, output = switch(k8s_cluster, switch_provider_namespace=ns)
    assert rc == 2 and "Set switch_provider_value (the provider to switch to)." in output
    rc, output = switch(k8s_cluster, switch_provider_namespace=ns, switch_provider_configmap="nope",
                        switch_provider_value="x")
    assert rc == 2 and f"ConfigMap {ns}/nope does not exist." in output
