"""Sign-up, rate-limited log-in, and editing one's own profile."""

import hashlib

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from hub.core.ratelimit import RateLimited, rate_limit
from hub.core.web import client_ip, rate_limited_response, safe_next_url

from .forms import PasswordResetForm, ProfileForm, SignupForm
from .services import profile_get, profile_update, user_signup

User = get_user_model()

# Sign-ups per IP and log-in attempts per IP and per username (ours; enough for a classroom
# behind one NAT, too few for credential stuffing).
RATE_SIGNUP_IP = (10, 3600)
RATE_LOGIN_IP = (30, 300)
RATE_LOGIN_USERNAME = (10, 300)
RATE_PASSWORD_RESET_IP = (5, 3600)  # each one sends an e-mail


def signup(request):
    if request.user.is_authenticated:
        return redirect("/")
    status = 200
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            try:
                limit, period = RATE_SIGNUP_IP
                rate_limit(
                    scope="signup",
                    key=f"ip:{client_ip(request)}",
                    limit=limit,
                    period_seconds=period,
                )
                user = user_signup(
                    username=form.cleaned_data["username"],
                    email=form.cleaned_data["email"],
                    password=form.cleaned_data["password1"],
                )
            except RateLimited as error:
                return rate_limited_response(request, error)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                messages.success(request, f"Welcome to GradHub, {user.username}!")
                return redirect(safe_next_url(request, "/"))
        status = 400
    else:
        form = SignupForm()
    return render(
        request,
        "accounts/signup.html",
        {"form": form, "next": safe_next_url(request, "/")},
        status=status,
    )


class LoginView(auth_views.LoginView):
    """Django's log-in with per-IP and per-username attempt limits (HTTP 429 when hit)."""

    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = (request.POST.get("username") or "").strip().lower()[:150]
        try:
            limit, period = RATE_LOGIN_IP
            rate_limit(
                scope="login", key=f"ip:{client_ip(request)}", limit=limit, period_seconds=period
            )
            if username:
                limit, period = RATE_LOGIN_USERNAME
                # hashed: the typed name may hold any character; the cache key must not
                digest = hashlib.sha256(username.encode()).hexdigest()[:32]
                rate_limit(scope="login", key=f"user:{digest}", limit=limit, period_seconds=period)
        except RateLimited as error:
            return rate_limited_response(request, error)
        return super().post(request, *args, **kwargs)


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per IP: every request sends an e-mail."""

    form_class = PasswordResetForm

    def post(self, request, *args, **kwargs):
        limit, period = RATE_PASSWORD_RESET_IP
        try:
            rate_limit(
                scope="password-reset",
                key=f"ip:{client_ip(request)}",
                limit=limit,
                period_seconds=period,
            )
        except RateLimited as error:
            return rate_limited_response(request, error)
        return super().post(request, *args, **kwargs)


@login_required
def profile_edit(request):
    status = 200
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                profile_update(user=request.user, bio=form.cleaned_data["bio"])
            except ValidationError as error:
                form.add_error("bio", error)
            else:
                messages.success(request, "Profile saved.")
                return redirect(f"/users/{request.user.username}/")
        status = 400
    else:
        form = ProfileForm(initial={"bio": profile_get(user=request.user).bio})
    return render(request, "accounts/profile_edit.html", {"form": form}, status=status)
