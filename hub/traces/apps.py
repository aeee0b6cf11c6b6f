from django.apps import AppConfig


class TracesConfig(AppConfig):
    name = "hub.traces"
    # The label predates the move into hub/: it names the tables and the migration history.
    label = "traces"
    verbose_name = "Gradient traces"
