"""/api/v1/: the REST API (see views.py); unknown paths answer a JSON 404."""

from django.urls import path, re_path

from . import views
from .exceptions import api_not_found

app_name = "api"

urlpatterns = [
    path("", views.RootView.as_view(), name="root"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    path("questions/", views.QuestionListView.as_view(), name="question-list"),
    path(
        "questions/<int:question_id>/", views.QuestionDetailView.as_view(), name="question-detail"
    ),
    path(
        "questions/<int:question_id>/answers/", views.AnswerListView.as_view(), name="answer-list"
    ),
    path(
        "questions/<int:question_id>/comments/",
        views.QuestionCommentView.as_view(),
        name="question-comments",
    ),
    path(
        "questions/<int:question_id>/vote/", views.QuestionVoteView.as_view(), name="question-vote"
    ),
    path("answers/<int:answer_id>/", views.AnswerDetailView.as_view(), name="answer-detail"),
    path("answers/<int:answer_id>/accept/", views.AnswerAcceptView.as_view(), name="answer-accept"),
    path(
        "answers/<int:answer_id>/comments/",
        views.AnswerCommentView.as_view(),
        name="answer-comments",
    ),
    path("answers/<int:answer_id>/vote/", views.AnswerVoteView.as_view(), name="answer-vote"),
    path("tags/", views.TagListView.as_view(), name="tag-list"),
    path("tags/<slug:name>/", views.TagDetailView.as_view(), name="tag-detail"),
    path("users/me/", views.MeView.as_view(), name="user-me"),
    path("users/<str:username>/", views.UserDetailView.as_view(), name="user-detail"),
    path("notifications/", views.NotificationListView.as_view(), name="notification-list"),
    path(
        "notifications/read-all/",
        views.NotificationReadAllView.as_view(),
        name="notification-read-all",
    ),
    path(
        "notifications/<int:notification_id>/read/",
        views.NotificationReadView.as_view(),
        name="notification-read",
    ),
    path("glossary/", views.TermListView.as_view(), name="term-list"),
    path("glossary/<slug:slug>/", views.TermDetailView.as_view(), name="term-detail"),
    path("lesson/", views.LessonProgressView.as_view(), name="lesson-progress"),
    path("lesson/steps/<int:number>/", views.LessonStepView.as_view(), name="lesson-step"),
    path(
        "lesson/steps/<int:number>/answer/", views.LessonAnswerView.as_view(), name="lesson-answer"
    ),
    path("traces/", views.TraceListView.as_view(), name="trace-list"),
    path("traces/<int:trace_id>/", views.TraceDetailView.as_view(), name="trace-detail"),
    path(
        "traces/<int:trace_id>/diagnosis/",
        views.TraceDiagnosisView.as_view(),
        name="trace-diagnosis",
    ),
    path("diagnoses/", views.DiagnosisListView.as_view(), name="diagnosis-list"),
    path("webhooks/", views.WebhookListView.as_view(), name="webhook-list"),
    path("webhooks/<int:endpoint_id>/", views.WebhookDetailView.as_view(), name="webhook-detail"),
    path(
        "webhooks/<int:endpoint_id>/deliveries/",
        views.WebhookDeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path("webhooks/<int:endpoint_id>/ping/", views.WebhookPingView.as_view(), name="webhook-ping"),
    re_path(r"^[\s\S]*$", api_not_found),  # any path, newlines included
]
