from django.contrib import admin

from .models import AccessToken, WebhookDelivery, WebhookEndpoint


@admin.register(AccessToken)
class AccessTokenAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "user",
        "display_prefix",
        "scopes",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["revoked_at"]
    search_fields = ["name", "user__username", "display_prefix"]
    # The hash is useless to read and must not be edited: tokens are made on the settings page.
    readonly_fields = ["user", "display_prefix", "key_hash", "created_at", "last_used_at"]

    def has_add_permission(self, request):
        return False


class WebhookDeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    extra = 0
    fields = ["uuid", "event", "state", "response_status", "error", "created_at", "completed_at"]
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "user", "events", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "user__username"]
    exclude = ["secret"]
    inlines = [WebhookDeliveryInline]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ["uuid", "endpoint", "event", "state", "response_status", "created_at"]
    list_filter = ["state", "event"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
