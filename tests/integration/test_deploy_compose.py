"""The compose deployment (deploy/): validated by `docker-compose config` (Debian's
docker-compose, no engine needed) and checked for the production shape: services,
healthchecks, the pinned controller on loopback, non-root images, no baked-in secret."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from ztix.config import Environment, load_settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
DOCKERFILES = [DEPLOY / "Dockerfile", DEPLOY / "nginx" / "Dockerfile"]
SERVICES = {"postgres", "redis", "zerotier", "api", "worker", "beat", "web"}
ZTIX_SERVICES = {"api", "worker", "beat"}


def _env_example() -> dict[str, str]:
    pairs = {}
    for line in (DEPLOY / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            pairs[key.strip()] = value.strip()
    return pairs


def _port(entry: str | dict[str, Any]) -> dict[str, Any]:
    """A published port in long form (docker-compose v1 prints the short one)."""
    if isinstance(entry, dict):
        return entry
    spec, _, protocol = entry.partition("/")
    parts = spec.split(":")
    host_ip = parts[0] if len(parts) == 3 else ""
    return {
        "host_ip": host_ip,
        "published": parts[-2] if len(parts) > 1 else "",
        "target": parts[-1],
        "protocol": protocol or "tcp",
    }


def _volume(entry: str | dict[str, Any]) -> dict[str, Any]:
    """A mount in long form (docker-compose v1 prints the short one)."""
    if isinstance(entry, dict):
        return entry
    source, target, *mode = entry.split(":")
    kind = "bind" if source.startswith(("/", ".")) else "volume"
    return {"type": kind, "source": source, "target": target, "read_only": mode == ["ro"]}


def _secrets() -> list[str]:
    """The example's secret values (every non-empty value but the image tag)."""
    return [v for k, v in _env_example().items() if v and k != "IMAGE_TAG"]


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """`docker-compose config` of a copy of deploy/ with a test .env from .env.example."""
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is missing: run scripts/install-system-deps.sh")
    work = tmp_path_factory.mktemp("repo")
    shutil.copytree(DEPLOY, work / "deploy", ignore=shutil.ignore_patterns(".env"))
    (work / "deploy" / ".env").write_text((DEPLOY / ".env.example").read_text())
    result = subprocess.run(
        ["docker-compose", "-f", str(work / "deploy" / "compose.yaml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=work,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(work)},
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = yaml.safe_load(result.stdout)
    return document


def test_compose_validates_with_the_expected_services(rendered: dict[str, Any]) -> None:
    assert set(rendered["services"]) == SERVICES


def test_every_service_has_a_healthcheck_and_a_restart_policy(rendered: dict[str, Any]) -> None:
    for name, service in rendered["services"].items():
        check = service.get("healthcheck")
        assert check and check.get("test") and not check.get("disable"), name
        assert service.get("restart") in {"unless-stopped", "always"}, name


def test_dependencies_wait_for_health(rendered: dict[str, Any]) -> None:
    services = rendered["services"]
    api = services["api"]["depends_on"]
    assert {k: v["condition"] for k, v in api.items()} == {
        "postgres": "service_healthy",
        "redis": "service_healthy",
        "zerotier": "service_healthy",
    }
    for name in ("worker", "beat", "web"):
        deps = services[name]["depends_on"]
        assert deps["api"]["condition"] == "service_healthy", name
        assert all(d["condition"] == "service_healthy" for d in deps.values()), name


def test_controller_is_pinned_and_its_api_is_on_loopback_only(rendered: dict[str, Any]) -> None:
    zt = rendered["services"]["zerotier"]
    assert zt["image"] == "zerotier/zerotier:1.14.2"
    ports = [_port(p) for p in zt["ports"]]
    tcp = [p for p in ports if p.get("protocol", "tcp") == "tcp"]
    assert tcp, "the controller API is published for the host's admin"
    for port in tcp:
        assert port["host_ip"] == "127.0.0.1", port
    # State on a named volume; local.conf allows management from the compose subnet only.
    assert any(
        v["type"] == "volume" and v["target"] == "/var/lib/zerotier-one"
        for v in map(_volume, zt["volumes"])
    )
    subnet = rendered["networks"]["ztix"]["ipam"]["config"][0]["subnet"]
    local_conf = (DEPLOY / "zerotier" / "local.conf").read_text()
    assert re.findall(r'"allowManagementFrom":\s*\[([^\]]*)\]', local_conf) == [f'"{subnet}"']


def test_database_and_broker_versions(rendered: dict[str, Any]) -> None:
    assert re.fullmatch(
        r"postgres:16(\.\d+)*(-[a-z0-9.]+)?", rendered["services"]["postgres"]["image"]
    )
    assert re.fullmatch(r"redis:7(\.\d+)*(-[a-z0-9.]+)?", rendered["services"]["redis"]["image"])
    assert "pg_isready" in str(rendered["services"]["postgres"]["healthcheck"]["test"])
    assert "ping" in str(rendered["services"]["redis"]["healthcheck"]["test"])


def test_ztix_services_run_the_right_commands_with_config_and_secrets(
    rendered: dict[str, Any],
) -> None:
    services = rendered["services"]
    assert services["api"]["command"][:1] == ["serve"] and "--workers" in services["api"]["command"]
    # Healthy = serving, which `ztix serve` does only after migrating: /healthz, not /readyz
    # (a controller outage must not make compose restart or hold back the API).
    assert "/healthz" in str(services["api"]["healthcheck"]["test"])
    assert "--no-migrate" not in services["api"]["command"]  # serve migrates on start
    assert services["worker"]["command"][:1] == ["worker"]
    assert services["beat"]["command"][:1] == ["beat"]
    for name in ZTIX_SERVICES:
        service = services[name]
        assert service["environment"]["ZTIX_CONFIG"] == "/etc/ztix/runtime-config.yaml"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://ztix:")
        mounts = {v["target"]: v for v in map(_volume, service["volumes"])}
        assert mounts["/etc/ztix/runtime-config.yaml"]["read_only"] is True
        assert mounts["/var/lib/zerotier-one"]["read_only"] is True
        assert "user" not in service  # the image's non-root user


def test_nginx_proxies_the_api_and_serves_the_app() -> None:
    conf = (DEPLOY / "nginx" / "nginx.conf").read_text()
    assert re.search(r"location /api/ \{[^}]*proxy_pass http://ztix_api;", conf)
    assert "X-Forwarded-For $proxy_add_x_forwarded_for" in conf
    assert "try_files $uri $uri/ /index.html;" in conf
    assert "location = /participants.json" in conf
    for header in ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy"):
        assert f"add_header {header}" in conf
    assert "frame-ancestors 'none'" in conf


def test_production_runtime_config_example_is_valid() -> None:
    settings = load_settings(DEPLOY / "runtime-config.example.yaml")
    assert settings.environment is Environment.PRODUCTION
    assert settings.zerotier.controller.url == "http://zerotier:9993"
    assert settings.zerotier.controller.embedded_emulator is False
    assert settings.jobs.runner == "celery"
    assert settings.jobs.broker_url == "redis://redis:6379/0"
    token_file = settings.zerotier.controller.token_file
    assert token_file is not None and token_file.parent == Path("/var/lib/zerotier-one")


def test_no_secret_is_baked_into_images_or_compose() -> None:
    files = [*DOCKERFILES, DEPLOY / "compose.yaml", DEPLOY / "nginx" / "nginx.conf"]
    files += [DEPLOY / "runtime-config.example.yaml", DEPLOY / "zerotier" / "local.conf"]
    secrets = _secrets()
    assert len(secrets) >= 3
    for path in files:
        text = path.read_text()
        for secret in secrets:
            assert secret not in text, (path, secret)
        # A secret may only be referenced (${VAR}), never written down.
        literal = r"(PASSWORD|SECRET|TOKEN|API_KEY)\s*[=:]\s*(?!\$\{)['\"]?[A-Za-z0-9]"
        assert not re.search(literal, text), path
    for dockerfile in DOCKERFILES:
        text = dockerfile.read_text()
        # Nothing secret passes through build arguments or the build context either.
        assert not re.search(r"^\s*(ARG|ENV)\s+\S*(PASSWORD|SECRET|TOKEN|KEY)", text, re.M | re.I)
        assert not re.search(r"^\s*(COPY|ADD)\s+.*\.env\b", text, re.M)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert "deploy/.env" in ignored and ".env" in ignored


def _stages(dockerfile: Path) -> list[tuple[str, list[str]]]:
    """(FROM image, the stage's lines) for each stage."""
    stages: list[tuple[str, list[str]]] = []
    for line in dockerfile.read_text().splitlines():
        match = re.match(r"^FROM\s+(?:--platform=\S+\s+)?(\S+)", line, re.I)
        if match:
            stages.append((match.group(1), []))
        elif stages:
            stages[-1][1].append(line)
    return stages


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_dockerfiles_are_multi_stage_pinned_and_non_root(dockerfile: Path) -> None:
    stages = _stages(dockerfile)
    assert len(stages) >= 2, "multi-stage"
    names = {line.split()[-1] for line in dockerfile.read_text().splitlines() if " AS " in line}
    for image, _ in stages:
        if image in names:
            continue
        name, _, tag = image.rpartition(":")
        assert name and tag and tag != "latest", image
        assert re.search(r"\d", tag), f"{image}: pin a version"
    final = stages[-1][1]
    users = [line.split()[1] for line in final if re.match(r"^USER\s", line)]
    assert users, "the final stage sets USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
