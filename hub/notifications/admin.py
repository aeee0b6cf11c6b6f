from django.contrib import admin

from .models import Notification, NotificationSettings, QuestionFollow


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "verb", "text", "is_read", "created_at"]
    list_filter = ["verb", "is_read"]
    search_fields = ["recipient__username", "text"]
    raw_id_fields = ["recipient", "actor", "question"]


@admin.register(QuestionFollow)
class QuestionFollowAdmin(admin.ModelAdmin):
    list_display = ["user", "question", "created_at"]
    raw_id_fields = ["user", "question"]


@admin.register(NotificationSettings)
class NotificationSettingsAdmin(admin.ModelAdmin):
    list_display = ["user", "email_notifications"]
    raw_id_fields = ["user"]
