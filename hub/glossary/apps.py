from django.apps import AppConfig


class GlossaryConfig(AppConfig):
    name = "hub.glossary"
    label = "glossary"
    verbose_name = "Glossary"
