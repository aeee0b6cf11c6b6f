from django.contrib import admin

from .models import Profile


@admin.register(Profile)
class ProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "reputation", "is_bot", "created_at")
    list_filter = ("is_bot",)
    search_fields = ("user__username", "user__email")
    raw_id_fields = ("user",)
