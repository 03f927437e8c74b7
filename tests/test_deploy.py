"""The Kubernetes manifests and the Envoy config in deploy/ against the server they deploy: every file parses, the
config file loads as settings, probes ask the ports and health services the server answers, mounts hold the files
the settings name, the autoscaler reads a metric the server exports, and the termination grace covers the drain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from inferenceguard.service.config import ENV_PREFIX, Settings
from inferenceguard.service.metrics import Metrics
from inferenceguard.service.probe import READINESS

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
LAST_BLOCK_S = 10  # a block's forward passes and scorer calls, after the stop is set


def manifests() -> dict[str, dict[str, Any]]:
    """Every Kubernetes object under deploy/ by kind (one of each); the GPU patch and Envoy's file apart."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(set(DEPLOY.glob("*.yaml")) - {DEPLOY / "gpu-patch.yaml"}):
        for document in yaml.safe_load_all(path.read_text()):
            assert {"apiVersion", "kind"} <= set(document), path.name
            found[document["kind"] if path.name != "prometheus-adapter.yaml" else "AdapterRules"] = document
    return found


@pytest.fixture(scope="module")
def objects() -> dict[str, dict[str, Any]]:
    return manifests()


@pytest.fixture(scope="module")
def settings(objects: dict[str, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory) -> Settings:
    path = tmp_path_factory.mktemp("config") / "inferenceguard.toml"
    path.write_text(objects["ConfigMap"]["data"]["inferenceguard.toml"])
    return Settings.load(config=path, environ={})  # an unknown or mistyped setting fails here


def pod(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    spec: dict[str, Any] = objects["Deployment"]["spec"]["template"]["spec"]
    return spec


def container(objects: dict[str, dict[str, Any]]) -> dict[str, Any]:
    (only,) = pod(objects)["containers"]
    return dict(only)


def test_the_kustomization_lists_every_manifest_and_each_parses(objects: dict[str, dict[str, Any]]) -> None:
    listed = set(objects["Kustomization"]["resources"])
    on_disk = {p.name for p in DEPLOY.glob("*.yaml")} - {
        "kustomization.yaml",
        "gpu-patch.yaml",
        "prometheus-adapter.yaml",
    }
    assert listed == on_disk


def test_ports_and_probes_are_those_the_server_answers(objects: dict[str, dict[str, Any]], settings: Settings) -> None:
    ports = {p["name"]: p["containerPort"] for p in container(objects)["ports"]}
    assert ports == {"grpc": settings.grpc_port, "health": settings.health_port, "metrics": settings.metrics_port}
    assert settings.host == settings.metrics_host == "0.0.0.0"  # reachable by the kubelet, Service and Prometheus
    probes = {kind: container(objects)[kind]["grpc"] for kind in ("startupProbe", "livenessProbe", "readinessProbe")}
    assert all(p["port"] == settings.health_port for p in probes.values())  # plaintext: the kubelet speaks no TLS
    assert probes["readinessProbe"]["service"] == READINESS
    assert probes["livenessProbe"]["service"] == probes["startupProbe"]["service"] == ""  # stays up through a drain
    annotations = objects["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(settings.metrics_port)


def test_the_settings_files_are_mounted_where_the_settings_name_them(
    objects: dict[str, dict[str, Any]], settings: Settings
) -> None:
    mounts = {m["name"]: m["mountPath"] for m in container(objects)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod(objects)["volumes"]}
    env = {e["name"]: e["value"] for e in container(objects)["env"]}
    fields = set(Settings.__dataclass_fields__)
    assert all(n == "INFERENCEGUARD_CONFIG" or n.removeprefix(ENV_PREFIX).lower() in fields for n in env)
    assert env["INFERENCEGUARD_CONFIG"] == f"{mounts['config']}/inferenceguard.toml"
    assert volumes["config"]["configMap"]["name"] == objects["ConfigMap"]["metadata"]["name"]
    assert settings.tls_cert == f"{mounts['tls']}/tls.crt" and settings.tls_key == f"{mounts['tls']}/tls.key"
    assert settings.tenants_file is not None and Path(settings.tenants_file).parent == Path(mounts["tenants"])
    assert {"secret"} <= set(volumes["tls"]) and {"secret"} <= set(volumes["tenants"])


def test_the_termination_grace_covers_the_whole_drain(objects: dict[str, dict[str, Any]], settings: Settings) -> None:
    pre_stop = container(objects)["lifecycle"]["preStop"]["sleep"]["seconds"]
    drain = pre_stop + settings.drain_delay_s + settings.graceful_shutdown_s + LAST_BLOCK_S
    assert pod(objects)["terminationGracePeriodSeconds"] >= drain
    assert settings.max_request_seconds <= 600 and settings.max_connection_age_s > 0


def test_the_service_is_headless_and_selects_the_pods(objects: dict[str, dict[str, Any]]) -> None:
    labels = objects["Deployment"]["spec"]["template"]["metadata"]["labels"]
    service, budget = objects["Service"]["spec"], objects["PodDisruptionBudget"]["spec"]
    assert service["clusterIP"] == "None"  # DNS returns every ready pod: clients balance requests, not connections
    assert service["selector"].items() <= labels.items()
    assert budget["selector"]["matchLabels"].items() <= labels.items() and budget["minAvailable"] >= 1
    names = {p["name"] for p in container(objects)["ports"]}
    assert {p["targetPort"] for p in service["ports"]} <= names


def test_the_autoscaler_reads_a_queue_metric_the_server_exports(objects: dict[str, dict[str, Any]]) -> None:
    hpa = objects["HorizontalPodAutoscaler"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == objects["Deployment"]["metadata"]["name"]
    (metric,) = hpa["metrics"]
    name = metric["pods"]["metric"]["name"]
    exported = {family.name: family.type for family in Metrics().registry.collect()}
    assert exported.get(name) == "gauge"
    rules = yaml.safe_load(objects["AdapterRules"]["data"]["config.yaml"])["rules"]
    assert any(rule["seriesQuery"].startswith(name + "{") for rule in rules)


def test_the_network_policy_and_the_gpu_patch_match_the_deployment(
    objects: dict[str, dict[str, Any]], settings: Settings
) -> None:
    opened = {port["port"] for rule in objects["NetworkPolicy"]["spec"]["ingress"] for port in rule["ports"]}
    assert opened == {settings.grpc_port, settings.metrics_port}
    patch = yaml.safe_load((DEPLOY / "gpu-patch.yaml").read_text())
    (patched,) = patch["spec"]["template"]["spec"]["containers"]
    assert patch["metadata"]["name"] == objects["Deployment"]["metadata"]["name"]
    assert patched["name"] == container(objects)["name"] and patched["resources"]["limits"]["nvidia.com/gpu"] == 1


def test_envoy_balances_requests_over_the_headless_service_by_readiness(
    objects: dict[str, dict[str, Any]], settings: Settings
) -> None:
    envoy = yaml.safe_load((DEPLOY / "envoy" / "envoy.yaml").read_text())
    (cluster,) = envoy["static_resources"]["clusters"]
    (endpoint,) = cluster["load_assignment"]["endpoints"][0]["lb_endpoints"]
    address = endpoint["endpoint"]["address"]["socket_address"]
    assert address["address"].startswith(objects["Service"]["metadata"]["name"] + ".")
    assert address["port_value"] == settings.grpc_port and cluster["type"] == "STRICT_DNS"
    (check,) = cluster["health_checks"]
    assert check["grpc_health_check"]["service_name"] == READINESS
    assert "http2_protocol_options" in str(cluster["typed_extension_protocol_options"])
    route = envoy["static_resources"]["listeners"][0]["filter_chains"][0]["filters"][0]["typed_config"]
    (virtual_host,) = route["route_config"]["virtual_hosts"]
    assert virtual_host["routes"][0]["route"]["retry_policy"]["retry_on"] == "unavailable"
