"""What the pipeline announces to the apps above it (the REST API's webhooks)."""

from django.dispatch import Signal

# Sent inside the transaction that stores a diagnosis and moves its trace to ``diagnosed``,
# with ``trace`` and ``diagnosis``. Receivers record their work in the same transaction.
trace_diagnosed = Signal()

# Sent inside the transaction that stores a diagnosis's verified fixes (``replay_done``), with
# ``trace`` and ``diagnosis``.
trace_replayed = Signal()
