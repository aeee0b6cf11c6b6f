from django import template

from hub.api.selectors import token_is_usable, token_list_for_user

register = template.Library()


@register.simple_tag
def api_tokens_for(user) -> list:
    """The user's tokens for the settings section, each with `.usable` set."""
    if not getattr(user, "is_authenticated", False):
        return []
    tokens = list(token_list_for_user(user=user))
    for token in tokens:
        token.usable = token_is_usable(token=token)
    return tokens
