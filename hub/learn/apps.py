from django.apps import AppConfig


class LearnConfig(AppConfig):
    name = "hub.learn"
    label = "learn"
    verbose_name = "Learning: lesson, article, FAQ"

    def ready(self) -> None:
        from . import signals  # noqa: F401  (carries anonymous lesson progress over on log-in)
