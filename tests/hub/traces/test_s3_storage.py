"""Trace files on an S3-compatible store: STORAGE_URL, and the whole pipeline against a real
S3 server process (moto's server on 127.0.0.1, tests/s3server.py), not a patched client."""

import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage
from rest_framework.test import APIClient

from hub.forum.models import Answer
from hub.traces import services
from hub.traces.diagnosis import diagnosis_plots_render, trace_diagnose
from hub.traces.models import Diagnosis, Trace
from hub.traces.storage import s3_storage_from_url, trace_local_copy
from tests.factories import question_make, user_make
from tests.hub.traces.pipeline_fixtures import trace_bytes, upload, vanishing_trace_bytes

S3 = "storages.backends.s3.S3Storage"
JSON = {"HTTP_ACCEPT": "application/json"}


# --- STORAGE_URL --------------------------------------------------------------------------


def test_storage_url_gives_a_private_s3_storage_with_its_options():
    config = s3_storage_from_url(
        "s3://traces?endpoint_url=http://127.0.0.1:9000&region_name=eu-west-1",
        access_key="AK",
        secret_key="SK",
    )
    assert config["BACKEND"] == S3
    options = config["OPTIONS"]
    assert options["bucket_name"] == "traces"
    assert options["endpoint_url"] == "http://127.0.0.1:9000"
    assert options["region_name"] == "eu-west-1"
    assert (options["access_key"], options["secret_key"]) == ("AK", "SK")
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is False
    assert options["file_overwrite"] is False  # two uploads never share an object
    # A read spools to disk past the upload memory limit instead of holding the object in RAM.
    assert 0 < options["max_memory_size"] <= settings.FILE_UPLOAD_MAX_MEMORY_SIZE


def test_storage_url_path_is_a_prefix_and_empty_credentials_leave_boto3_its_own_chain():
    options = s3_storage_from_url("s3://traces/gradhub/prod/")["OPTIONS"]
    assert options["bucket_name"] == "traces" and options["location"] == "gradhub/prod"
    assert options["access_key"] is None and options["secret_key"] is None
    assert options["endpoint_url"] is None  # AWS itself


@pytest.mark.parametrize(
    "url",
    [
        "ftp://traces",
        "s3://",
        "s3://traces?endpoint=http://x",
        "s3://key:secret@traces",
    ],
    ids=["scheme", "no-bucket", "unknown-option", "credentials-in-url"],
)
def test_a_wrong_storage_url_is_refused_at_start_up(url):
    with pytest.raises(ImproperlyConfigured) as info:
        s3_storage_from_url(url)
    assert "secret" not in str(info.value)


def _settings_storage(env: dict[str, str]) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['default'], default=repr))"
    )
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_") and k not in ("STORAGE_URL", "DJANGO_SETTINGS_MODULE")
    }
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=keep | env | {"DJANGO_SETTINGS_MODULE": "hub.settings"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_settings_read_storage_url_and_the_aws_credentials_from_the_environment():
    storage = _settings_storage(
        {
            "STORAGE_URL": "s3://gradhub-traces?endpoint_url=http://minio:9000&region_name=us-east-1",
            "AWS_ACCESS_KEY_ID": "minio-user",
            "AWS_SECRET_ACCESS_KEY": "minio-secret",
        }
    )
    assert storage["BACKEND"] == S3
    assert storage["OPTIONS"]["bucket_name"] == "gradhub-traces"
    assert storage["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert storage["OPTIONS"]["access_key"] == "minio-user"
    assert storage["OPTIONS"]["secret_key"] == "minio-secret"


def test_settings_accept_the_usual_s3_settings_without_storage_url():
    storage = _settings_storage(
        {"AWS_STORAGE_BUCKET_NAME": "b1", "AWS_S3_ENDPOINT_URL": "http://s3.local:9000"}
    )
    assert storage["BACKEND"] == S3
    assert storage["OPTIONS"]["bucket_name"] == "b1"
    assert storage["OPTIONS"]["endpoint_url"] == "http://s3.local:9000"


def test_without_storage_url_traces_stay_on_local_disk():
    storage = _settings_storage({})
    assert storage["BACKEND"] == "django.core.files.storage.FileSystemStorage"


# --- The pipeline on a real S3 server ---------------------------------------------------------


def _keys(s3_server, bucket: str) -> list[str]:
    listing = s3_server.client().list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def _object_bytes(s3_server, bucket: str, key: str) -> bytes:
    return s3_server.client().get_object(Bucket=bucket, Key=key)["Body"].read()


@pytest.mark.django_db
def test_the_storage_switch_reaches_the_trace_file_field(s3_bucket):
    assert default_storage.__class__.__name__ == "S3Storage"
    assert Trace._meta.get_field("file").storage.bucket_name == s3_bucket


@pytest.mark.django_db
def test_upload_diagnosis_plots_and_download_end_to_end_on_s3(s3_server, s3_bucket, client, asker):
    question = question_make(author=asker)
    data = vanishing_trace_bytes()
    client.force_login(asker)

    response = client.post(
        f"/traces/questions/{question.pk}/upload/", {"file": upload(data, "run 7.trace")}, **JSON
    )
    assert response.status_code == 200, response.content
    trace = Trace.objects.get(owner=asker)

    # The object is in the bucket, with exactly the uploaded bytes; nothing on local disk.
    assert _keys(s3_server, s3_bucket) == [trace.file.name]
    assert _object_bytes(s3_server, s3_bucket, trace.file.name) == data
    assert not os.path.exists(os.path.join(settings.MEDIA_ROOT, trace.file.name))
    assert trace.size_bytes == len(data)
    assert trace.sha256 == hashlib.sha256(data).hexdigest()

    diagnosis = trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED, trace.failure_reason
    assert any(f["code"] == "vanishing_gradients" for f in diagnosis.findings)
    answer = Answer.objects.get(question=question, is_automated=True)
    assert "Vanishing gradients" in answer.body

    diagnosis = diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    assert diagnosis.plots_done and diagnosis.plots
    name = next(iter(diagnosis.plots))
    answer.refresh_from_db()
    assert f"/traces/{trace.pk}/plots/{name}.svg" in answer.body

    download = client.get(f"/traces/{trace.pk}/download/")
    assert download.status_code == 200 and download.streaming
    assert b"".join(download.streaming_content) == data
    assert 'filename="run 7.trace"' in download["Content-Disposition"]
    # The download is for the owner only, on S3 as on disk.
    client.force_login(user_make(prefix="stranger"))
    assert client.get(f"/traces/{trace.pk}/download/").status_code == 404


@pytest.mark.django_db
def test_two_different_uploads_are_two_objects_and_two_traces(
    s3_server, s3_bucket, asker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, second, again = (
            services.trace_upload(owner=asker, uploaded_file=upload(data), private=True)
            for data in (trace_bytes(seed=1), trace_bytes(seed=2), trace_bytes(seed=1))
        )
    assert first.pk != second.pk and again.pk == first.pk  # hashed while streamed to S3
    # The copy of a reused upload is deleted from the bucket.
    assert sorted(_keys(s3_server, s3_bucket)) == sorted([first.file.name, second.file.name])


@pytest.mark.django_db
def test_a_deleted_object_fails_the_trace_with_the_clear_reason(s3_server, s3_bucket, asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    s3_server.client().delete_object(Bucket=s3_bucket, Key=trace.file.name)

    assert trace_diagnose(trace_id=trace.pk) is None
    trace.refresh_from_db()
    assert trace.state == Trace.State.FAILED
    assert trace.failure_reason == (
        "The uploaded file is missing on the server. Upload the trace again."
    )


@pytest.mark.django_db
def test_plots_of_a_deleted_object_end_with_no_plots(s3_server, s3_bucket, asker):
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    diagnosis = trace_diagnose(trace_id=trace.pk)
    s3_server.client().delete_object(Bucket=s3_bucket, Key=trace.file.name)
    diagnosis = diagnosis_plots_render(diagnosis_id=diagnosis.pk)
    assert diagnosis.plots_done and diagnosis.plots == {}
    assert Diagnosis.objects.get(pk=diagnosis.pk).plots == {}


@pytest.mark.django_db
def test_the_worker_copy_is_removed_after_the_diagnosis(s3_bucket, asker, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    trace = services.trace_upload(owner=asker, uploaded_file=upload(trace_bytes()), private=True)
    trace_diagnose(trace_id=trace.pk)
    trace.refresh_from_db()
    assert trace.state == Trace.State.DIAGNOSED
    assert list(tmp_path.iterdir()) == []


def test_the_worker_copy_is_private_and_stops_one_byte_past_the_cap(tmp_path):
    storage = FileSystemStorage(location=tmp_path / "media")
    stored = SimpleNamespace(
        storage=storage, name=storage.save("big.trace", ContentFile(b"x" * 5000))
    )
    with trace_local_copy(stored, max_bytes=1000) as path:
        assert os.path.getsize(path) == 1001  # enough for the loader to refuse it as too large
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not os.path.exists(path)
    with (
        pytest.raises(FileNotFoundError),
        trace_local_copy(SimpleNamespace(storage=storage, name="gone.trace"), max_bytes=1000),
    ):
        pass


# --- S3 refusing or out of reach ---------------------------------------------------------


@pytest.fixture
def s3_out_of_reach(settings):
    """The default storage pointed at an S3 endpoint nothing listens on (a stopped store)."""
    with socket.socket() as probe:  # a port that was free a moment ago: connections are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"s3://traces?endpoint_url=http://127.0.0.1:{port}&region_name=us-east-1"
    settings.STORAGES = settings.STORAGES | {
        "default": s3_storage_from_url(url, access_key="key", secret_key="secret")
    }


@pytest.mark.django_db
def test_an_upload_while_s3_is_out_of_reach_answers_503_and_keeps_nothing(
    s3_out_of_reach, client, asker
):
    question = question_make(author=asker)
    client.force_login(asker)
    response = client.post(
        f"/traces/questions/{question.pk}/upload/", {"file": upload(trace_bytes())}, **JSON
    )
    assert response.status_code == 503
    assert "nothing was saved" in response.content.decode()
    assert not Trace.objects.filter(owner=asker).exists()


@pytest.mark.django_db
def test_an_upload_to_a_bucket_that_is_gone_answers_503_through_the_api(
    s3_server, s3_bucket, asker
):
    s3_server.client().delete_bucket(Bucket=s3_bucket)
    api = APIClient()
    api.force_authenticate(asker)
    response = api.post("/api/v1/traces/", {"file": upload(trace_bytes())}, format="multipart")
    assert response.status_code == 503, response.content
    error = response.json()["error"]
    assert error["code"] == "storage_unavailable" and "nothing was saved" in error["message"]
    assert response["Retry-After"]
    assert not Trace.objects.filter(owner=asker).exists()


def test_the_s3_client_gives_up_within_seconds_when_the_store_is_out_of_reach():
    options = s3_storage_from_url("s3://traces?endpoint_url=http://127.0.0.1:9")["OPTIONS"]
    config = options["client_config"]
    assert config.connect_timeout <= 5 and config.retries["max_attempts"] <= 3
