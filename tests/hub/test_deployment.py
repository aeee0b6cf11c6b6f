"""The production set-up, checked without a Docker engine: the compose file against the settings."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import yaml

from hub.traces.storage import s3_storage_from_url

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ("migrate", "web", "worker", "beat")
PRODUCTION_ENV = {
    "GRADHUB_MODE": "production",
    "SECRET_KEY": secrets.token_urlsafe(50),
    "ALLOWED_HOSTS": "gradhub.example",
    "DATABASE_URL": "sqlite:////tmp/gradhub-deploy-check.sqlite3",
}


def _settings_env_names() -> set[str]:
    source = (ROOT / "hub" / "settings.py").read_text()
    return set(re.findall(r'env(?:\.\w+)?\(\s*"([A-Z_]+)"', source))


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The browser tests' relaxation of async safety must not leak into a deployment check.
    leaked = ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    clean = {k: v for k, v in os.environ.items() if k not in leaked}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env | {"DJANGO_SETTINGS_MODULE": "hub.settings"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compose_defines_the_production_services():
    assert set(SERVICES) == {
        "db", "redis", "minio", "createbucket", "migrate", "web", "worker", "beat"
    }  # fmt: skip
    assert SERVICES["db"]["image"].startswith("postgres:16")
    assert "pgdata" in COMPOSE["volumes"]
    assert any(v.startswith("pgdata:") for v in SERVICES["db"]["volumes"])


def test_every_stateful_service_has_a_healthcheck_and_dependents_wait_for_it():
    for name in ("db", "redis", "minio", "web"):
        assert SERVICES[name]["healthcheck"]["test"], name
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("web", "worker", "beat"):
        depends = SERVICES[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully", name
        assert depends["redis"]["condition"] == "service_healthy", name


def test_app_services_share_one_image_and_production_environment_known_to_settings():
    known = _settings_env_names()
    for name in APP_SERVICES:
        service = SERVICES[name]
        assert service["build"] == "."
        env = service["environment"]
        assert env["GRADHUB_MODE"] == "production"
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert env["DATABASE_URL"].startswith("postgres://") and "@db:5432/" in env["DATABASE_URL"]
        unknown = set(env) - known
        assert not unknown, f"{name} sets variables the settings never read: {unknown}"


def test_trace_files_go_to_the_minio_bucket_and_no_volume_is_shared():
    env = SERVICES["web"]["environment"]
    default_url = re.fullmatch(r"\$\{STORAGE_URL:-(.+)\}", env["STORAGE_URL"]).group(1)
    options = s3_storage_from_url(default_url)["OPTIONS"]
    assert options["endpoint_url"] == "http://minio:9000"
    assert f"local/{options['bucket_name']}" in SERVICES["createbucket"]["command"][0]
    assert SERVICES["createbucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    assert SERVICES["createbucket"]["restart"] == "no"
    assert SERVICES["minio"]["image"].startswith("minio/minio")
    for name in ("web", "worker"):
        depends = SERVICES[name]["depends_on"]
        assert depends["createbucket"]["condition"] == "service_completed_successfully", name
        assert not SERVICES[name].get("volumes"), f"{name} needs no shared media volume"
    creds = (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    assert creds == (
        "${MINIO_ROOT_USER:-gradhub}",
        "${MINIO_ROOT_PASSWORD:?set MINIO_ROOT_PASSWORD}",
    )
    assert SERVICES["minio"]["environment"]["MINIO_ROOT_PASSWORD"] == creds[1]


def test_migrations_run_once_before_the_web_app_serves():
    assert SERVICES["migrate"]["restart"] == "no"
    assert "manage.py migrate" in " ".join(SERVICES["migrate"]["command"])


def test_commands_point_at_real_entry_points():
    web = SERVICES["web"]["command"]
    assert web[0] == "gunicorn" and web[1] == "hub.wsgi:application"
    worker = " ".join(SERVICES["worker"]["command"])
    assert worker.startswith("celery -A hub worker")
    assert "--max-memory-per-child=" in worker
    assert " ".join(SERVICES["beat"]["command"]).startswith("celery -A hub beat")
    result = subprocess.run(
        [sys.executable, "-c", "import hub.wsgi, hub.celery; print(hub.celery.app.main)"],
        cwd=ROOT,
        env=os.environ | {"DJANGO_SETTINGS_MODULE": "hub.settings", "DATABASE_URL": "sqlite://"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "gradhub"


def test_dockerfile_builds_the_image_the_compose_file_runs():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert dockerfile.startswith("# ") and "FROM python:3.11" in dockerfile
    assert "pip install -r requirements.txt" in dockerfile
    assert "collectstatic" in dockerfile


def test_production_mode_refuses_to_start_without_a_real_secret_key():
    for weak in ("short", "a" * 60):
        result = _manage("check", env=PRODUCTION_ENV | {"SECRET_KEY": weak})
        assert result.returncode != 0, weak
        assert "SECRET_KEY" in result.stderr


def test_check_deploy_is_clean_in_production_mode():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stderr + result.stdout
