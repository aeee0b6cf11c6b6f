from django.urls import path

from . import views

app_name = "moderation"

urlpatterns = [
    path("", views.flag_queue, name="queue"),
    path("flag/", views.flag_create, name="flag_create"),
    path("flags/<int:flag_id>/action/", views.flag_action, name="flag_action"),
]
