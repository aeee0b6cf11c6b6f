from django.contrib import admin

from hub.traces.models import Diagnosis, Finding, Trace


@admin.register(Trace)
class TraceAdmin(admin.ModelAdmin):
    list_display = ("id", "owner", "question", "state", "size_bytes", "attempts", "created_at")
    list_filter = ("state", "is_private")
    search_fields = ("sha256", "original_name", "owner__username")
    raw_id_fields = ("owner", "question")
    readonly_fields = ("sha256", "size_bytes", "created_at", "updated_at", "state_changed_at")


class FindingInline(admin.TabularInline):
    model = Finding
    extra = 0
    fields = ("code", "severity", "title", "first_layer", "onset_step", "confidence")
    readonly_fields = fields


@admin.register(Diagnosis)
class DiagnosisAdmin(admin.ModelAdmin):
    list_display = ("id", "trace", "engine_version", "healthy", "answer", "created_at")
    list_filter = ("engine_version", "healthy")
    raw_id_fields = ("trace", "answer")
    exclude = ("plots",)
    inlines = [FindingInline]
