"""The fields and bounds the input serializers share, and absolute URLs for the output ones."""

from django.conf import settings
from django.core.validators import RegexValidator
from rest_framework import serializers

# Bounds mirror hub/forum/services/common.py and hub/forum/models.py (the services enforce them).
TITLE_MIN_LENGTH = 10
TITLE_MAX_LENGTH = 150
BODY_MIN_LENGTH = 20
BODY_MAX_LENGTH = 30_000
ANSWER_MIN_LENGTH = 10
COMMENT_MIN_LENGTH = 5
COMMENT_MAX_LENGTH = 600
MAX_TAGS = 5
TAG_MAX_LENGTH = 35
TAG_PATTERN = r"^[a-z0-9][a-z0-9.+#-]*$"


# Python's str.strip() also removes \x1c-\x1f and \x85, which JSON Schema's \s does not match.
_SPACE = r"[\s\x1c-\x1f\x85]"
_NONSPACE = r"[^\s\x1c-\x1f\x85]"


def trimmed_length_validator(min_length: int) -> RegexValidator:
    """At least `min_length` characters once surrounding whitespace is stripped, as a pattern
    (so the schema says what the services check after strip())."""
    return RegexValidator(
        rf"^{_SPACE}*{_NONSPACE}[\s\S]{{{min_length - 2},}}{_NONSPACE}{_SPACE}*$",
        message=f"Ensure this field has at least {min_length} characters besides spaces.",
    )


class StrictCharField(serializers.CharField):
    """A JSON string: numbers and booleans are refused rather than turned into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer: "1", 1.0 and true are refused."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON boolean: "true", 1 and "yes" are refused."""

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictRegexField(serializers.RegexField):
    """A JSON string matching the pattern."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


def text_field(*, min_length: int, max_length: int, **kwargs) -> StrictCharField:
    return StrictCharField(
        min_length=min_length,
        max_length=max_length,
        validators=[trimmed_length_validator(min_length)],
        **kwargs,
    )


def tag_list_field(**kwargs) -> serializers.ListField:
    return serializers.ListField(
        child=StrictRegexField(TAG_PATTERN, max_length=TAG_MAX_LENGTH),
        max_length=MAX_TAGS,
        **kwargs,
    )


def absolute(request, path: str) -> str:
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path
