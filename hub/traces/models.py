"""Uploaded gradient traces, their diagnoses and the findings as queryable rows."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

SHA256_HEX_LENGTH = 64
ORIGINAL_NAME_MAX_LENGTH = 255
FINDING_CODE_MAX_LENGTH = 64  # the vocabulary of DESIGN.md: the longest code is 25 characters


class TraceState(models.TextChoices):
    UPLOADED = "uploaded", "Uploaded"
    QUEUED = "queued", "Queued"
    REPLAYING = "replaying", "Replaying"
    DIAGNOSED = "diagnosed", "Diagnosed"
    FAILED = "failed", "Failed"


class Trace(models.Model):
    """One uploaded trace file and where it is in the pipeline."""

    State = TraceState
    TERMINAL_STATES = (State.DIAGNOSED, State.FAILED)
    PENDING_STATES = (State.UPLOADED, State.QUEUED, State.REPLAYING)

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="traces"
    )
    question = models.ForeignKey(
        "forum.Question",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="traces",
    )
    file = models.FileField(upload_to="traces/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=SHA256_HEX_LENGTH, db_index=True)
    size_bytes = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=ORIGINAL_NAME_MAX_LENGTH, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.UPLOADED)
    failure_reason = models.TextField(blank=True)
    is_private = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)  # times a worker began replaying it
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    state_changed_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["owner", "sha256"], name="traces_owner_sha_idx"),
            models.Index(fields=["state", "state_changed_at"], name="traces_state_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=TraceState.values),
                name="traces_trace_state_valid",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="failed") | ~models.Q(failure_reason=""),
                name="traces_trace_failed_has_reason",
            ),
            models.CheckConstraint(
                condition=~(models.Q(is_private=True) & models.Q(question__isnull=False)),
                name="traces_trace_private_not_attached",
            ),
        ]

    def __str__(self) -> str:
        return f"Trace {self.pk} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("traces:detail", kwargs={"trace_id": self.pk})

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES


class TraceRankFile(models.Model):
    """Another rank's file of a distributed run, uploaded with its rank 0 trace.

    Kept as evidence, never diagnosed on its own: the diagnosis of the rank 0 trace compares it
    with this one (``ranks_disagree``), and only that trace has a state, a post and findings."""

    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="rank_files")
    rank = models.PositiveIntegerField()
    file = models.FileField(upload_to="traces/%Y/%m/", max_length=255)
    sha256 = models.CharField(max_length=SHA256_HEX_LENGTH)
    size_bytes = models.PositiveBigIntegerField()
    original_name = models.CharField(max_length=ORIGINAL_NAME_MAX_LENGTH, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["trace", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["trace", "rank"], name="traces_rankfile_one_per_rank"),
            models.CheckConstraint(
                condition=models.Q(rank__gte=1), name="traces_rankfile_not_rank0"
            ),
        ]

    def __str__(self) -> str:
        return f"Rank {self.rank} of trace {self.trace_id}"


class Diagnosis(models.Model):
    """What one engine version said about one trace (one row per trace and engine version)."""

    trace = models.ForeignKey(Trace, on_delete=models.CASCADE, related_name="diagnoses")
    engine_version = models.CharField(max_length=32)
    summary = models.TextField(blank=True)
    healthy = models.BooleanField(default=True)
    findings = models.JSONField(default=list)  # Finding.to_dict() of every finding
    facts = models.JSONField(default=dict)  # what the engine read: rows, params, optimizers
    report_markdown = models.TextField(blank=True)  # the bot post's body
    plots = models.JSONField(default=dict)  # plot name -> SVG text (served by traces:plot)
    # Plots are drawn by a follow-up task (matplotlib takes longer than the whole diagnosis):
    # False until that task has finished, whatever it produced.
    plots_done = models.BooleanField(default=False)
    # Verified fixes (analysis.replay): {"replay": {...}} from a follow-up task that replays the
    # recorded model; False until that task has finished, whatever it found.
    replay = models.JSONField(default=dict)
    replay_done = models.BooleanField(default=False)
    answer = models.ForeignKey(
        "forum.Answer", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "diagnoses"
        constraints = [
            models.UniqueConstraint(
                fields=["trace", "engine_version"], name="traces_diagnosis_one_per_version"
            ),
        ]

    def __str__(self) -> str:
        return f"Diagnosis of trace {self.trace_id} by engine {self.engine_version}"


class Finding(models.Model):
    """One finding of a diagnosis as a row, for "same diagnosis" matching and API queries."""

    class Severity(models.TextChoices):
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"
        INFO = "info", "Info"

    diagnosis = models.ForeignKey(Diagnosis, on_delete=models.CASCADE, related_name="finding_rows")
    code = models.CharField(max_length=FINDING_CODE_MAX_LENGTH, db_index=True)
    severity = models.CharField(max_length=8, choices=Severity.choices)
    title = models.CharField(max_length=300)
    layers = models.JSONField(default=list)  # module paths the evidence names, first first
    first_layer = models.CharField(max_length=300, blank=True, db_index=True)
    onset_step = models.BigIntegerField(null=True, blank=True)
    confidence = models.FloatField()

    class Meta:
        ordering = ["diagnosis", "id"]
        indexes = [models.Index(fields=["code", "first_layer"], name="traces_finding_code_layer")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(severity__in=["error", "warning", "info"]),
                name="traces_finding_severity_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0) & models.Q(confidence__lte=1),
                name="traces_finding_confidence_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.severity})"
