"""Forms validate the shape of input; the services validate the rest (and raise for a person)."""

from django import forms

from hub.core.web import control_strip

from .models import TITLE_MAX_LENGTH, Question
from .services import BODY_MAX_LENGTH, COMMENT_MAX_LENGTH, MAX_TAGS, tags_normalize

# A live preview under the editor (htmx posts the form; the server renders the markdown).
PREVIEW_ATTRS = {
    "hx-post": "/markdown/preview/",
    "hx-trigger": "input changed delay:600ms",
    "hx-target": "next .markdown-preview",
    "hx-swap": "innerHTML",
    "hx-sync": "this:replace",
}


class TagsField(forms.CharField):
    def clean(self, value):
        value = super().clean(value)
        try:
            names = tags_normalize(value or "")
        except forms.ValidationError:
            raise
        if len(names) > MAX_TAGS:
            raise forms.ValidationError(f"Use at most {MAX_TAGS} tags.")
        return names


class QuestionForm(forms.Form):
    title = forms.CharField(
        max_length=TITLE_MAX_LENGTH,
        help_text="Be specific: what did you do, what happened, what did you expect?",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "placeholder": "e.g. Loss becomes NaN after a few "
                   "hundred steps with AMP"}
        ),
    )  # fmt: skip
    body = forms.CharField(
        max_length=BODY_MAX_LENGTH,
        help_text="Markdown: ```python fenced code```, $inline$ and $$display$$ math, @mentions.",
        widget=forms.Textarea(attrs={"rows": 14, **PREVIEW_ATTRS}),
    )
    tags = TagsField(
        required=False,
        help_text=f"Up to {MAX_TAGS}, separated by spaces, e.g. pytorch autograd optimizer.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "list": "tag-suggestions"}),
    )

    def clean_title(self):
        return control_strip(self.cleaned_data["title"])

    def clean_body(self):
        return control_strip(self.cleaned_data["body"])


class AskForm(QuestionForm):
    trace = forms.FileField(
        required=False,
        label="Gradient trace",
        help_text="A .trace file recorded with python -m traces.capture: we diagnose it and post the "
        "findings as an answer.",
        widget=forms.ClearableFileInput(attrs={"accept": ".trace"}),
    )
    # "Ask the community" from a private trace: its id, checked against the asker in the view.
    attach_trace = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class AnswerForm(forms.Form):
    body = forms.CharField(
        label="Your answer",
        max_length=BODY_MAX_LENGTH,
        help_text="Markdown, code blocks and $math$ welcome.",
        widget=forms.Textarea(attrs={"rows": 10, **PREVIEW_ATTRS}),
    )

    def clean_body(self):
        return control_strip(self.cleaned_data["body"])


class CommentForm(forms.Form):
    body = forms.CharField(
        label="Comment",
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 2, "class": "comment-input"}),
    )

    def clean_body(self):
        return control_strip(self.cleaned_data["body"])


class CloseForm(forms.Form):
    reason = forms.ChoiceField(choices=Question.CloseReason.choices)
    duplicate_of = forms.IntegerField(
        required=False,
        min_value=1,
        label="Duplicate of (question number)",
        help_text="Only for duplicates: the number in the other question's address.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("reason") == Question.CloseReason.DUPLICATE:
            number = cleaned.get("duplicate_of")
            if not number:
                raise forms.ValidationError("Say which question this one duplicates.")
            try:
                cleaned["duplicate_question"] = Question.objects.get(pk=number)
            except Question.DoesNotExist:
                raise forms.ValidationError(f"There is no question {number}.") from None
        return cleaned
