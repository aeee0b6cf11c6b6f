"""Learning: the glossary and the backpropagation lesson."""

from rest_framework import serializers

from .fields import StrictCharField, absolute, text_field


class TermSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()
    aliases = serializers.ListField(child=serializers.CharField())
    definition = serializers.CharField()
    definition_html = serializers.CharField()
    snippet = serializers.CharField()
    url = serializers.SerializerMethodField()

    def get_url(self, term) -> str:
        return absolute(self.context.get("request"), term.get_absolute_url())


class TermInputSerializer(serializers.Serializer):
    slug = serializers.SlugField(max_length=80)
    name = text_field(min_length=2, max_length=100)
    aliases = serializers.ListField(
        child=StrictCharField(max_length=100), max_length=20, default=list
    )
    definition = text_field(min_length=2, max_length=20_000, help_text="Markdown.")
    snippet = StrictCharField(max_length=20_000, default="", allow_blank=True)
    expected_output = StrictCharField(max_length=20_000, default="", allow_blank=True)


class TermEditInputSerializer(serializers.Serializer):
    name = text_field(min_length=2, max_length=100, required=False)
    aliases = serializers.ListField(
        child=StrictCharField(max_length=100), max_length=20, required=False
    )
    definition = text_field(min_length=2, max_length=20_000, required=False)
    snippet = StrictCharField(max_length=20_000, required=False, allow_blank=True)
    expected_output = StrictCharField(max_length=20_000, required=False, allow_blank=True)


# --- the lesson ------------------------------------------------------------------------------


class LessonStepSummarySerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["choice", "numeric"])
    done = serializers.BooleanField()
    open = serializers.BooleanField(help_text="False while an earlier step is unanswered.")


class LessonProgressSerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    total_steps = serializers.IntegerField()
    completed_steps = serializers.ListField(child=serializers.IntegerField())
    open_step = serializers.IntegerField(help_text="The first step not yet answered correctly.")
    attempts = serializers.IntegerField()
    is_complete = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    steps = LessonStepSummarySerializer(many=True)
    url = serializers.URLField()


class LessonChoiceSerializer(serializers.Serializer):
    key = serializers.CharField()
    text = serializers.CharField()


class LessonStepSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    title = serializers.CharField()
    kind = serializers.ChoiceField(choices=["choice", "numeric"])
    explanation_html = serializers.CharField()
    prompt_html = serializers.CharField()
    code = serializers.CharField(allow_blank=True)
    choices = LessonChoiceSerializer(many=True)
    done = serializers.BooleanField()
    url = serializers.URLField()


class LessonAnswerInputSerializer(serializers.Serializer):
    answer = StrictCharField(
        max_length=100, help_text="An option key (choice steps) or a number such as 0.25."
    )


class LessonAnswerResultSerializer(serializers.Serializer):
    correct = serializers.BooleanField()
    message = serializers.CharField()
    expected = serializers.FloatField(allow_null=True, help_text="Shown after a right answer.")
    unlocked = serializers.ListField(child=serializers.CharField())
    feedback_html = serializers.CharField(allow_blank=True)
    progress = LessonProgressSerializer()
