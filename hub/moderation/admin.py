from django.contrib import admin

from .models import Flag


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["pk", "reason", "state", "reporter", "created_at", "handled_by", "action"]
    list_filter = ["state", "reason"]
    search_fields = ["reporter__username", "note"]
    raw_id_fields = ["reporter", "question", "answer", "comment", "handled_by"]
