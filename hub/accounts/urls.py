from allauth.account import views as allauth_account_views
from allauth.urls import build_provider_urlpatterns
from django.contrib.auth import views as auth_views
from django.urls import include, path

from . import views

# Django's auth URL names (no namespace): its password views reverse them by these names.
urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("profile/", views.profile_edit, name="profile_edit"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("password/reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    # Sign in with a provider (allauth's socialaccount): /accounts/github/login/,
    # /accounts/google/login/, /accounts/oidc/<id>/login/ and their callbacks; errors and
    # the connections page under /accounts/social/.
    path("social/", include("allauth.socialaccount.urls")),
    *build_provider_urlpatterns(),
    # The names allauth redirects to, served by our own pages (allauth's account views unused).
    path("login/", views.LoginView.as_view(), name="account_login"),
    path("signup/", views.signup, name="account_signup"),
    path("logout/", auth_views.LogoutView.as_view(), name="account_logout"),
    path("inactive/", allauth_account_views.account_inactive, name="account_inactive"),
]
