from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "hub.notifications"
    label = "notifications"
    verbose_name = "Notifications"
