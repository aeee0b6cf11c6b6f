from django.apps import AppConfig


class ForumConfig(AppConfig):
    name = "hub.forum"
    label = "forum"
    verbose_name = "Forum"
