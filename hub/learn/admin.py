from django.contrib import admin

from .models import Article, FaqEntry, Lesson, LessonProgress, LessonStep


class LessonStepInline(admin.StackedInline):
    model = LessonStep
    extra = 0
    fields = ("number", "title", "kind", "prompt", "correct", "answer", "unlocks")
    readonly_fields = fields
    can_delete = False
    show_change_link = True


@admin.register(Lesson)
class LessonAdmin(admin.ModelAdmin):
    # Content is edited in content/lesson/*.yaml (versioned); the admin shows it.
    list_display = ("title", "slug")
    readonly_fields = ("slug", "title", "summary", "graph", "computed")
    inlines = [LessonStepInline]


@admin.register(LessonProgress)
class LessonProgressAdmin(admin.ModelAdmin):
    list_display = ("lesson", "user", "anon_token", "attempts", "completed_at", "updated_at")
    list_filter = ("lesson",)
    raw_id_fields = ("user",)
    search_fields = ("user__username",)


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "slug", "updated_at")
    readonly_fields = ("slug", "title", "summary", "body")
    exclude = ("body_html",)


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ("question", "slug", "position")
    readonly_fields = ("slug", "position", "question", "answer")
    exclude = ("answer_html",)
