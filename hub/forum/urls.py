from django.urls import path

from . import views

app_name = "forum"

# Action routes come before the question page's /<id>/<slug>/ so a slug never shadows them
# (services._slug also keeps titles from producing these words as slugs).
urlpatterns = [
    path("questions/", views.question_list, name="questions"),
    # Under notifications/ since following is about being notified; served here, where
    # questions are.
    path(
        "notifications/follow/<int:question_id>/",
        views.question_follow_toggle_view,
        name="follow_toggle",
    ),
    path("questions/similar/", views.question_similar, name="similar"),
    path("markdown/preview/", views.markdown_preview, name="markdown_preview"),
    path("questions/<int:question_id>/answer/", views.answer_create, name="answer_create"),
    path("questions/<int:question_id>/edit/", views.question_edit, name="question_edit"),
    path(
        "questions/<int:question_id>/revisions/",
        views.question_revisions,
        name="question_revisions",
    ),
    path("questions/<int:question_id>/close/", views.question_close, name="question_close"),
    path("questions/<int:question_id>/reopen/", views.question_reopen, name="question_reopen"),
    path("questions/<int:pk>/vote/", views.vote, {"kind": "questions"}, name="question_vote"),
    path(
        "questions/<int:pk>/comment/",
        views.comment_create,
        {"kind": "questions"},
        name="question_comment",
    ),
    path("answers/<int:pk>/vote/", views.vote, {"kind": "answers"}, name="answer_vote"),
    path(
        "answers/<int:pk>/comment/",
        views.comment_create,
        {"kind": "answers"},
        name="answer_comment",
    ),
    path("answers/<int:pk>/accept/", views.answer_accept, name="answer_accept"),
    path("answers/<int:pk>/edit/", views.answer_edit, name="answer_edit"),
    path("answers/<int:pk>/revisions/", views.answer_revisions, name="answer_revisions"),
    path("questions/<int:question_id>/", views.question_detail, name="question_short"),
    path(
        "questions/<int:question_id>/<slug:slug>/",
        views.question_detail,
        name="question_detail",
    ),
    path("tags/", views.tag_list, name="tags"),
    path("tags/autocomplete/", views.tag_autocomplete, name="tag_autocomplete"),
    path("tags/<slug:name>/", views.tag_detail, name="tag_detail"),
    path("search/", views.search, name="search"),
    path("users/<str:username>/", views.user_profile, name="user_profile"),
]

for _kind in ("questions", "answers", "comments"):
    for _action in ("hide", "unhide"):
        urlpatterns.append(
            path(
                f"moderate/{_kind}/<int:pk>/{_action}/",
                views.post_visibility,
                {"kind": _kind, "action": _action},
                name=f"{_kind[:-1]}_{_action}",
            )
        )
