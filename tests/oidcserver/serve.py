"""Run the test OpenID Connect provider: `python -m tests.oidcserver.serve PORT`.

Migrates its own SQLite database, creates the configured users and the client, then serves
with Django's threaded development server (no autoreload)."""

import os
import sys

import django


def main(port: int) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidcserver.settings"
    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.core.servers.basehttp import run
    from django.core.wsgi import get_wsgi_application
    from oauth2_provider.models import Application

    from .settings import CONFIG

    call_command("migrate", verbosity=0, interactive=False)
    User = get_user_model()
    for person in CONFIG["users"]:
        User.objects.create_user(
            username=person["username"], email=person["email"], password=CONFIG["password"]
        )
    Application.objects.create(
        name="GradHub (test)",
        client_id=CONFIG["client_id"],
        client_secret=CONFIG["client_secret"],
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=" ".join(CONFIG["redirect_uris"]),
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,  # the person sees the consent page
    )
    run("127.0.0.1", port, get_wsgi_application(), threading=True)


if __name__ == "__main__":
    main(int(sys.argv[1]))
