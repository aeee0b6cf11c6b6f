from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "hub.api"
    label = "api"
    verbose_name = "REST API, tokens and webhooks"

    def ready(self) -> None:
        from hub.api import receivers  # noqa: F401 (connects the receivers)
