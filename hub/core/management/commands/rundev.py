"""`make run`: migrate, load the site's content, serve on 127.0.0.1:8000 with a Celery worker.

The worker is a child process on the same broker as the site (the embedded filesystem broker
unless REDIS_URL / CELERY_BROKER_URL say otherwise). Ctrl-C or SIGTERM stops both.
"""

import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

# Idempotent loaders run on every start, in this order, if the app providing them is present.
CONTENT_COMMANDS = ("load_learning_content", "seed_demo")


class Command(BaseCommand):
    help = "Run GradHub locally: migrate, load content, serve with a background worker."

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")
        parser.add_argument("--no-worker", action="store_true", help="serve without a worker")

    def handle(self, *args, addrport: str, no_worker: bool, **options):
        call_command("migrate", interactive=False, verbosity=0)
        available = get_commands()
        for name in CONTENT_COMMANDS:
            if name in available:
                call_command(name, verbosity=0)
        worker = None if no_worker else self._start_worker()
        # SIGTERM (from `kill` or a process manager) ends the server like Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        host = addrport if ":" in addrport else f"127.0.0.1:{addrport}"
        self.stdout.write(
            self.style.SUCCESS(f"\nGradHub is running: browse http://{host}/")
            + f"\n  database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}"
            + f"   broker: {settings.CELERY_BROKER_URL.split('://')[0]}"
            + f"   worker: {'pid ' + str(worker.pid) if worker else 'off'}"
            + "\n  Stop with Ctrl-C (stops the server and the worker).\n"
        )
        try:
            call_command("runserver", host, use_reloader=False)
        finally:
            if worker is not None:
                self._stop_worker(worker)

    def _start_worker(self) -> subprocess.Popen:
        if settings.CELERY_BROKER_URL.startswith("filesystem://"):
            for folder in ("queue", "control"):
                (settings.BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable, "-m", "celery", "-A", "hub", "worker", "--beat",
            "--loglevel=warning", "--concurrency=1",
            f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}",
        ]  # fmt: skip
        return subprocess.Popen(command)

    def _stop_worker(self, worker: subprocess.Popen) -> None:
        if worker.poll() is None:
            worker.terminate()  # warm shutdown: the current task finishes or is re-queued
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        self.stdout.write("GradHub stopped (server and worker).")
