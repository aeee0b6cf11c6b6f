from django.contrib import admin

from .models import Term, TermRevision
from .services import term_revision_record, term_save


class TermRevisionInline(admin.TabularInline):
    model = TermRevision
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "editor", "note", "name", "aliases")
    readonly_fields = fields
    ordering = ("-number",)
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Term)
class TermAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "updated_at")
    search_fields = ("name", "slug", "definition")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("related",)
    fields = ("name", "slug", "aliases", "definition", "snippet", "expected_output", "related")
    inlines = [TermRevisionInline]

    def save_model(self, request, obj, form, change):
        term_save(term=obj)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the related terms are saved, so the revision records them too.
        term_revision_record(
            term=form.instance,
            editor=request.user,
            note="edited in the admin" if change else "created in the admin",
        )


@admin.register(TermRevision)
class TermRevisionAdmin(admin.ModelAdmin):
    list_display = ("term", "number", "editor", "note", "created_at")
    list_filter = ("term",)
    readonly_fields = [field.name for field in TermRevision._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
