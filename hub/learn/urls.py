from django.urls import path

from . import views

app_name = "learn"

# Included at the site root (hub/urls.py), before the forum's routes.
urlpatterns = [
    path("learn/", views.landing, name="landing"),
    path("learn/backprop/", views.lesson_resume, name="lesson_resume"),
    path("learn/backprop/<int:step>/", views.lesson_step, name="lesson_step"),
    path("learn/backprop/reset/", views.lesson_reset, name="lesson_reset"),
    path("articles/<slug:slug>/", views.article_detail, name="article_detail"),
    path("faq/", views.faq, name="faq"),
]
