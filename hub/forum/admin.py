"""Admin for staff: browse and fix rows.

What the site changes through a service, the admin changes through the same service: a
question's title, body and tags (question_edit: a revision, the rendered body, the excerpt, the
search vector), an answer's body (answer_edit), hiding and restoring (post_hide/post_unhide:
answer_count counts visible answers by people). Values derived from other rows (rendered bodies,
excerpts, scores, counts, the accepted answer's reputation) are read-only here, and posts and
votes are written on the site only. Deleting goes through the post_delete receivers
(signals.py), which keep answer counts and the search vector right.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from . import services
from .models import Answer, Comment, Question, Revision, Tag, Vote


class PostAdmin(admin.ModelAdmin):
    """A change saves its plain fields directly, then its content and visibility through the
    services; either way the question's cached pages are refreshed."""

    # Saved by content_save (the model's edit service), not by the form.
    content_fields: tuple[str, ...] = ()

    def has_add_permission(self, request):
        return False  # posts are written on the site, through the services

    def save_model(self, request, obj, form, change):
        concrete = {field.name for field in obj._meta.concrete_fields}
        by_service = {*self.content_fields, "is_hidden"}
        fields = [name for name in form.changed_data if name in concrete - by_service]
        if fields:
            if "updated_at" in concrete:
                fields.append("updated_at")
            obj.save(update_fields=fields)
        # The services compare with (and lock) the stored row: give them the stored content.
        columns = [name for name in by_service if name in concrete]
        stored = type(obj).objects.only(*columns).get(pk=obj.pk)
        for name in columns:
            setattr(obj, name, getattr(stored, name))

    def save_related(self, request, form, formsets, change):
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        # No form.save_m2m(): the only many-to-many, a question's tags, is content.
        post = form.instance
        self.content_save(request, post, form.cleaned_data)
        if "is_hidden" in form.changed_data:
            hide = services.post_hide if form.cleaned_data["is_hidden"] else services.post_unhide
            hide(moderator=request.user, target=post)
        services.question_render_bump(question_id=services.post_question_id(post))

    def content_save(self, request, post, cleaned_data) -> None:
        """Save the content fields through the model's edit service (nothing by default)."""


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "description", "created_at")
    readonly_fields = ("slug",)  # set once by Tag.save(): changing it would break links
    search_fields = ("name", "description")


class AnswerInline(admin.TabularInline):
    model = Answer
    fields = ("author", "score", "is_automated", "is_hidden", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True


class QuestionAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if not self.errors:  # the same rules as the site's edit page, shown on the form
            try:
                services.question_content_clean(
                    title=cleaned["title"],
                    body=cleaned["body"],
                    tags=[tag.name for tag in cleaned["tags"]],
                )
            except ValidationError as error:
                self.add_error(None, error)
        return cleaned


@admin.register(Question)
class QuestionAdmin(PostAdmin):
    form = QuestionAdminForm
    content_fields = ("title", "body", "tags")
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
    raw_id_fields = ("author", "duplicate_of", "closed_by")
    readonly_fields = (
        "slug",
        "body_html",
        "excerpt",
        "score",
        "answer_count",
        "view_count",
        "accepted_answer",
        "created_at",
        "updated_at",
    )
    filter_horizontal = ("tags",)
    inlines = [AnswerInline]
    date_hierarchy = "created_at"

    def content_save(self, request, post, cleaned_data) -> None:
        services.question_edit(
            question=post,
            editor=request.user,
            title=cleaned_data["title"],
            body=cleaned_data["body"],
            tags=[tag.name for tag in cleaned_data["tags"]],
        )


class AnswerAdminForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if "body" in cleaned:
            automated = cleaned.get("is_automated", self.instance.is_automated)
            try:
                cleaned["body"] = services.answer_body_clean(
                    body=cleaned["body"], automated=automated
                )
            except ValidationError as error:
                self.add_error("body", error)
        return cleaned


@admin.register(Answer)
class AnswerAdmin(PostAdmin):
    form = AnswerAdminForm
    content_fields = ("body",)
    list_display = ("pk", "question", "author", "score", "is_automated", "is_hidden", "created_at")
    list_filter = ("is_automated", "is_hidden")
    search_fields = ("question__title", "author__username")
    raw_id_fields = ("author",)
    # Moving an answer to another question would leave both answer counts wrong.
    readonly_fields = ("question", "body_html", "score", "created_at", "updated_at")

    def content_save(self, request, post, cleaned_data) -> None:
        services.answer_edit(answer=post, editor=request.user, body=cleaned_data["body"])


@admin.register(Comment)
class CommentAdmin(PostAdmin):
    """Comments are not edited on the site (no service renders an edit): hide or delete them."""

    list_display = ("pk", "author", "question", "answer", "is_hidden", "created_at")
    list_filter = ("is_hidden",)
    raw_id_fields = ("author",)
    readonly_fields = ("question", "answer", "body", "body_html")


@admin.register(Vote)
class VoteAdmin(admin.ModelAdmin):
    """Read-only: a vote moves a score and a reputation, which only vote_cast keeps in step."""

    list_display = ("user", "question", "answer", "value", "created_at")
    raw_id_fields = ("user", "question", "answer")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    list_display = ("pk", "question", "answer", "number", "editor", "created_at")
    raw_id_fields = ("question", "answer", "editor")
