"""{% follow_button question %}: the follow/unfollow form for the question page."""

from django import template

from ..selectors import question_is_followed

register = template.Library()


@register.inclusion_tag("notifications/_follow_button.html", takes_context=True)
def follow_button(context, question):
    request = context.get("request")
    user = getattr(request, "user", None)
    return {
        "question": question,
        "user": user,
        "following": question_is_followed(user=user, question=question),
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path() if request is not None else "",
    }
