"""Admin for staff: browse and fix rows. Content changes should go through the services
(the site's own edit pages keep revisions and re-render markdown); the admin is read-mostly."""

from django.contrib import admin

from .models import Answer, Comment, Question, Revision, Tag, Vote
from .services import post_question_id, question_render_bump


class PostAdmin(admin.ModelAdmin):
    """A staff edit changes what the question's pages show, as a service's write does."""

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)  # after the tags, too
        question_render_bump(question_id=post_question_id(form.instance))


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "description", "created_at")
    search_fields = ("name", "description")


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ("author", "score", "is_automated", "is_hidden", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


@admin.register(Question)
class QuestionAdmin(PostAdmin):
    list_display = (
        "title",
        "author",
        "score",
        "answer_count",
        "is_closed",
        "is_hidden",
        "created_at",
    )
    list_filter = ("is_closed", "is_hidden", "close_reason")
    search_fields = ("title", "author__username")
    raw_id_fields = ("author", "accepted_answer", "duplicate_of", "closed_by")
    readonly_fields = (
        "body_html",
        "score",
        "answer_count",
        "view_count",
        "created_at",
        "updated_at",
    )
    filter_horizontal = ("tags",)
    inlines = [AnswerInline]
    date_hierarchy = "created_at"


@admin.register(Answer)
class AnswerAdmin(PostAdmin):
    list_display = ("pk", "question", "author", "score", "is_automated", "is_hidden", "created_at")
    list_filter = ("is_automated", "is_hidden")
    search_fields = ("question__title", "author__username")
    raw_id_fields = ("question", "author")
    readonly_fields = ("body_html", "score", "created_at", "updated_at")


@admin.register(Comment)
class CommentAdmin(PostAdmin):
    list_display = ("pk", "author", "question", "answer", "is_hidden", "created_at")
    list_filter = ("is_hidden",)
    raw_id_fields = ("author", "question", "answer")
    readonly_fields = ("body_html",)


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    list_display = ("user", "question", "answer", "value", "created_at")
    raw_id_fields = ("user", "question", "answer")


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ("pk", "question", "answer", "number", "editor", "created_at")
    raw_id_fields = ("question", "answer", "editor")
