"""/api/v1/: the REST API (see views/); unknown paths answer a JSON 404."""

from django.urls import path, re_path

from .exceptions import api_not_found
from .views import (
    answers,
    comments_votes,
    learning,
    notifications,
    questions,
    schema,
    tags,
    traces,
    users,
    webhook_endpoints,
)

app_name = "api"

urlpatterns = [
    path("", schema.RootView.as_view(), name="root"),
    path("schema/", schema.SchemaView.as_view(), name="schema"),
    path("docs/", schema.DocsView.as_view(), name="docs"),
    path("questions/", questions.QuestionListView.as_view(), name="question-list"),
    path(
        "questions/<int:question_id>/",
        questions.QuestionDetailView.as_view(),
        name="question-detail",
    ),
    path(
        "questions/<int:question_id>/answers/", answers.AnswerListView.as_view(), name="answer-list"
    ),
    path(
        "questions/<int:question_id>/comments/",
        comments_votes.QuestionCommentView.as_view(),
        name="question-comments",
    ),
    path(
        "questions/<int:question_id>/vote/",
        comments_votes.QuestionVoteView.as_view(),
        name="question-vote",
    ),
    path("answers/<int:answer_id>/", answers.AnswerDetailView.as_view(), name="answer-detail"),
    path(
        "answers/<int:answer_id>/accept/", answers.AnswerAcceptView.as_view(), name="answer-accept"
    ),
    path(
        "answers/<int:answer_id>/comments/",
        comments_votes.AnswerCommentView.as_view(),
        name="answer-comments",
    ),
    path(
        "answers/<int:answer_id>/vote/", comments_votes.AnswerVoteView.as_view(), name="answer-vote"
    ),
    path("tags/", tags.TagListView.as_view(), name="tag-list"),
    # A tag by its name (node.js, c++, c#: percent-encoded) or by its URL slug.
    path("tags/<str:name>/", tags.TagDetailView.as_view(), name="tag-detail"),
    path("users/me/", users.MeView.as_view(), name="user-me"),
    path("users/<str:username>/", users.UserDetailView.as_view(), name="user-detail"),
    path("notifications/", notifications.NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/read-all/",
        notifications.NotificationReadAllView.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        notifications.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path("glossary/", learning.TermListView.as_view(), name="term-list"),
    path("glossary/<slug:slug>/", learning.TermDetailView.as_view(), name="term-detail"),
    path("lesson/", learning.LessonProgressView.as_view(), name="lesson-progress"),
    path("lesson/steps/<int:number>/", learning.LessonStepView.as_view(), name="lesson-step"),
    path(
        "lesson/steps/<int:number>/answer/",
        learning.LessonAnswerView.as_view(),
        name="lesson-answer",
    ),
    path("traces/", traces.TraceListView.as_view(), name="trace-list"),
    path("traces/<int:trace_id>/", traces.TraceDetailView.as_view(), name="trace-detail"),
    path(
        "traces/<int:trace_id>/diagnosis/",
        traces.TraceDiagnosisView.as_view(),
        name="trace-diagnosis",
    ),
    path("diagnoses/", traces.DiagnosisListView.as_view(), name="diagnosis-list"),
    path("webhooks/", webhook_endpoints.WebhookListView.as_view(), name="webhook-list"),
    path(
        "webhooks/<int:endpoint_id>/",
        webhook_endpoints.WebhookDetailView.as_view(),
        name="webhook-detail",
    ),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        webhook_endpoints.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:endpoint_id>/ping/",
        webhook_endpoints.WebhookPingView.as_view(),
        name="webhook-ping",
    ),
    re_path(r"^[\s\S]*$", api_not_found),  # any path, newlines included
]
