"""GradHub: the Django project (settings, urls, Celery app) and the community apps."""

from .celery import app as celery_app

__all__ = ("celery_app",)
