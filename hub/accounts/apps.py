from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "hub.accounts"
    label = "accounts"
    verbose_name = "Accounts and profiles"

    def ready(self):
        from . import signals  # noqa: F401 (receivers)
