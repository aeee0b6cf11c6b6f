from django.apps import AppConfig


class ForumConfig(AppConfig):
    name = "hub.forum"
    label = "forum"
    verbose_name = "Forum"

    def ready(self):
        from . import signals  # noqa: F401 (connects the receivers)
