"""A real OpenID Connect provider for the sign-in tests: a tiny Django project built on
django-oauth-toolkit, run in its own process on 127.0.0.1 (as tests/s3server.py runs moto).

GradHub's allauth talks HTTP to it as it would to GitHub or Google: discovery, authorize, token,
userinfo and the JWKS, with a login form and a consent page a browser fills in.
"""

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.serverprocess import ServerProcess

CLIENT_ID = "gradhub-test-client"
CLIENT_SECRET = "gradhub-test-client-secret"
PASSWORD = "provider-password-1"


@dataclass(frozen=True)
class ProviderUser:
    """A person known to the provider, and what it says about their e-mail."""

    username: str
    email: str
    email_verified: bool
    name: str = ""


class OIDCServerProcess(ServerProcess):
    """`python -m tests.oidcserver.serve PORT`, with its own SQLite database in `statedir`."""

    name = "OIDC provider"

    def __init__(self, *, statedir: Path, users: list[ProviderUser], redirect_uris: list[str]):
        super().__init__(log_path=statedir / "oidcserver.log")
        self.statedir = statedir
        self.users = users
        self.redirect_uris = redirect_uris

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def server_url(self) -> str:
        """What allauth's openid_connect provider takes as `server_url` (the issuer)."""
        return f"{self.url}/o"

    def command(self) -> list[str]:
        return [sys.executable, "-m", "tests.oidcserver.serve", str(self.port)]

    def workdir(self) -> Path:
        return Path(__file__).resolve().parents[2]

    def environment(self) -> dict[str, str]:
        config = self.statedir / "oidcserver.json"
        config.write_text(
            json.dumps(
                {
                    "database": str(self.statedir / "oidcserver.sqlite3"),
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "password": PASSWORD,
                    "redirect_uris": self.redirect_uris,
                    "users": [asdict(user) for user in self.users],
                }
            )
        )
        # none of GradHub's settings: the provider is a project of its own
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DJANGO_", "DATABASE_", "REDIS_"))
        }
        return env | {"OIDCSERVER_CONFIG": str(config)}
