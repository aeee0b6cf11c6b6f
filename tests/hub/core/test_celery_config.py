"""Every task the worker knows can actually be sent with the project's Celery settings."""

from django.conf import settings

from hub.celery import app


def _project_tasks():
    app.loader.import_default_modules()
    return {name: task for name, task in app.tasks.items() if not name.startswith("celery.")}


def test_every_task_has_a_soft_time_limit_within_its_hard_limit():
    for name, task in _project_tasks().items():
        soft = task.soft_time_limit or settings.CELERY_TASK_SOFT_TIME_LIMIT
        hard = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        assert soft <= hard, f"{name}: soft limit {soft}s above hard limit {hard}s"


def test_every_periodic_job_names_a_registered_task():
    tasks = _project_tasks()
    for entry, job in settings.CELERY_BEAT_SCHEDULE.items():
        assert job["task"] in tasks, f"beat entry {entry} names unknown task {job['task']}"
