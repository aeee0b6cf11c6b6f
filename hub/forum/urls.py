from django.urls import path

from .views import (
    answers,
    layer,
    lists,
    moderation,
    preview,
    profiles,
    questions,
    revisions,
    votes_comments,
)

app_name = "forum"

# Action routes come before the question page's /<id>/<slug>/ so a slug never shadows them
# (services.common.slug_from_title also keeps titles from producing these words as slugs).
urlpatterns = [
    path("questions/", lists.question_list, name="questions"),
    path("me/layer/", layer.member_layer, name="member_layer"),
    path("me/layer/questions/<int:question_id>/", layer.member_layer, name="member_layer_question"),
    # Under notifications/ since following is about being notified; served here, where
    # questions are.
    path(
        "notifications/follow/<int:question_id>/",
        profiles.question_follow_toggle_view,
        name="follow_toggle",
    ),
    path("questions/similar/", preview.question_similar, name="similar"),
    path("markdown/preview/", preview.markdown_preview, name="markdown_preview"),
    path("questions/<int:question_id>/answer/", answers.answer_create, name="answer_create"),
    path("questions/<int:question_id>/edit/", questions.question_edit, name="question_edit"),
    path(
        "questions/<int:question_id>/revisions/",
        revisions.question_revisions,
        name="question_revisions",
    ),
    path("questions/<int:question_id>/close/", moderation.question_close, name="question_close"),
    path("questions/<int:question_id>/reopen/", moderation.question_reopen, name="question_reopen"),
    path(
        "questions/<int:pk>/vote/", votes_comments.vote, {"kind": "questions"}, name="question_vote"
    ),
    path(
        "questions/<int:pk>/comment/",
        votes_comments.comment_create,
        {"kind": "questions"},
        name="question_comment",
    ),
    path("answers/<int:pk>/vote/", votes_comments.vote, {"kind": "answers"}, name="answer_vote"),
    path(
        "answers/<int:pk>/comment/",
        votes_comments.comment_create,
        {"kind": "answers"},
        name="answer_comment",
    ),
    path("answers/<int:pk>/accept/", answers.answer_accept, name="answer_accept"),
    path("answers/<int:pk>/edit/", answers.answer_edit, name="answer_edit"),
    path("answers/<int:pk>/revisions/", revisions.answer_revisions, name="answer_revisions"),
    path("questions/<int:question_id>/", questions.question_detail, name="question_short"),
    path(
        "questions/<int:question_id>/<slug:slug>/",
        questions.question_detail,
        name="question_detail",
    ),
    path("tags/", lists.tag_list, name="tags"),
    path("tags/autocomplete/", preview.tag_autocomplete, name="tag_autocomplete"),
    path("tags/<slug:slug>/", lists.tag_detail, name="tag_detail"),
    path("search/", lists.search, name="search"),
    path("users/<str:username>/", profiles.user_profile, name="user_profile"),
]

for _kind in ("questions", "answers", "comments"):
    for _action in ("hide", "unhide"):
        urlpatterns.append(
            path(
                f"moderate/{_kind}/<int:pk>/{_action}/",
                moderation.post_visibility,
                {"kind": _kind, "action": _action},
                name=f"{_kind[:-1]}_{_action}",
            )
        )
