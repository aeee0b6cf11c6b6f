"""A real S3-compatible server for the tests: moto's server in its own process on 127.0.0.1.

Not moto's in-process ``mock_aws`` (which patches the client): boto3 and django-storages talk
HTTP to a separate process, as they would to MinIO or AWS.
"""

import sys

import boto3

from tests.serverprocess import ServerProcess

ACCESS_KEY = "gradhub-test"
SECRET_KEY = "gradhub-test-secret"
REGION = "us-east-1"


class S3ServerProcess(ServerProcess):
    """`python -m moto.server` on a free port of 127.0.0.1."""

    name = "S3 server"

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]

    def client(self):
        """A boto3 client of this server, to look at the bucket behind the storage's back."""
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
