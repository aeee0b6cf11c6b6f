import uuid

import pytest

from hub.accounts.models import Profile
from hub.traces.storage import s3_storage_from_url
from tests import s3server
from tests.factories import user_make


@pytest.fixture
def asker(db):
    """A member past the new-account limits, who asks questions with traces."""
    user = user_make(prefix="asker")
    Profile.objects.filter(user=user).update(reputation=50)
    return user


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """A real S3-compatible server process on 127.0.0.1 for this run (tests/s3server.py)."""
    server = s3server.S3ServerProcess(log_path=tmp_path_factory.mktemp("s3") / "moto.log").start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(s3_server, settings):
    """A fresh bucket on the S3 server, and the default storage switched to it through the
    same STORAGE_URL parsing the settings use. Yields the bucket's name."""
    bucket = f"gradhub-test-{uuid.uuid4().hex[:12]}"
    s3_server.client().create_bucket(Bucket=bucket)
    url = f"s3://{bucket}?endpoint_url={s3_server.endpoint_url}&region_name={s3server.REGION}"
    settings.STORAGES = settings.STORAGES | {
        "default": s3_storage_from_url(
            url, access_key=s3server.ACCESS_KEY, secret_key=s3server.SECRET_KEY
        )
    }  # setting_changed resets django.core.files.storage.storages and default_storage
    yield bucket
