from django.urls import path

from hub.traces import views

app_name = "traces"

urlpatterns = [
    path("new/", views.trace_new, name="new"),
    path("<int:trace_id>/", views.trace_detail, name="detail"),
    path("<int:trace_id>/status.json", views.trace_status, name="status"),
    path("<int:trace_id>/download/", views.trace_download, name="download"),
    path("<int:trace_id>/plots/<slug:name>.svg", views.trace_plot, name="plot"),
    path(
        "questions/<int:question_id>/upload/", views.question_trace_upload, name="question_upload"
    ),
]
