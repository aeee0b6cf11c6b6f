"""manage.py create_token USERNAME [--scopes read,write,traces] [--expires-days N] [--name NAME]

Prints a new personal access token (and nothing else on stdout), for scripted set-ups:
    export GRADHUB_TOKEN=$(python manage.py create_token alice --scopes read,traces)
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from hub.api.models import SCOPES
from hub.api.services import token_create
from hub.core.ratelimit import RateLimited


class Command(BaseCommand):
    help = "Create a personal access token for a user and print it (shown only once)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--scopes",
            default=",".join(SCOPES),
            help=f"Comma-separated, from {', '.join(SCOPES)} (default: all).",
        )
        parser.add_argument("--expires-days", type=int, default=None, help="Default: never.")
        parser.add_argument("--name", default="command line", help="A label for the token list.")

    def handle(self, *args, username, scopes, expires_days, name, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user named {username!r}.")
        try:
            token, raw = token_create(
                user=user, name=name, scopes=scopes, expires_days=expires_days
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except (PermissionDenied, RateLimited) as exc:
            raise CommandError(str(exc)) from exc
        expiry = token.expires_at.date().isoformat() if token.expires_at else "never"
        self.stderr.write(
            f"Token {token.display_prefix}… for {username}: scopes {', '.join(token.scopes)}, "
            f"expires {expiry}. It is shown only now."
        )
        self.stdout.write(raw)
