from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from analysis.findings import GLOSSARY_SLUGS
from hub.glossary.models import Term, TermRevision
from hub.learn.models import Article, FaqEntry, Lesson, LessonStep

pytestmark = pytest.mark.django_db

CONTENT = Path(__file__).resolve().parents[3] / "content"
# The slugs the issue and the diagnosis engine rely on.
REQUIRED_SLUGS = [
    "forward-pass", "loss-function", "backpropagation", "gradient", "optimizer", "learning-rate",
    "chain-rule", "computational-graph", "autograd", "credit-assignment-problem",
    "gradient-descent", "sgd", "momentum", "adam", "adamw", "weight-decay", "vanishing-gradient",
    "exploding-gradient", "gradient-clipping", "zero-grad", "gradient-accumulation",
    "activation-function", "relu", "dead-relu", "sigmoid", "tanh", "saturation",
    "batch-normalization", "layer-normalization", "residual-connection", "weight-initialization",
    "mini-batch", "epoch", "logits", "cross-entropy", "mean-squared-error", "overfitting",
    "mixed-precision", "learning-rate-schedule", "hooks",
]  # fmt: skip


def _counts():
    return (
        Term.objects.count(),
        TermRevision.objects.count(),
        Lesson.objects.count(),
        LessonStep.objects.count(),
        Article.objects.count(),
        FaqEntry.objects.count(),
        Term.related.through.objects.count(),
    )


def test_loading_twice_creates_nothing_new_and_reports_no_changes(capsys):
    call_command("load_learning_content")
    first = _counts()
    call_command("load_learning_content")
    assert _counts() == first
    captured = capsys.readouterr()
    assert captured.err == ""  # e.g. no related term that does not exist
    output = captured.out.strip().splitlines()
    assert "(0 changed)" in output[-1] and output[-1].count("(0 changed)") == 4
    assert first[0] >= 40 and first[3] == 8 and first[4] == 1 and first[5] >= 6
    assert set(REQUIRED_SLUGS) <= set(Term.objects.values_list("slug", flat=True))


def test_every_term_has_a_definition_snippet_output_and_related_terms():
    call_command("load_learning_content", verbosity=0)
    for term in Term.objects.all():
        assert term.definition_html.startswith("<p>"), term.slug
        assert term.snippet.strip() and term.expected_output.strip(), term.slug
        assert term.related.exists(), term.slug
        assert term.revisions.count() == 1, term.slug
    relu = Term.objects.get(slug="relu")
    assert "dead-relu" in relu.related.values_list("slug", flat=True)
    # Definitions link other terms, never themselves.
    assert 'href="/glossary/dead-relu/"' in relu.definition_html
    assert 'href="/glossary/relu/"' not in relu.definition_html


def test_an_admin_edit_survives_a_reload_until_the_file_changes(tmp_path):
    content = tmp_path / "content"
    (content / "glossary").mkdir(parents=True)
    source = (CONTENT / "glossary" / "epoch.yaml").read_text()
    (content / "glossary" / "epoch.yaml").write_text(source)
    call_command("load_learning_content", content_dir=content, verbosity=0)
    Term.objects.filter(slug="epoch").update(definition="Edited by staff.")

    call_command("load_learning_content", content_dir=content, verbosity=0)
    assert Term.objects.get(slug="epoch").definition == "Edited by staff."

    (content / "glossary" / "epoch.yaml").write_text(source.replace("one full pass", "one pass"))
    call_command("load_learning_content", content_dir=content, verbosity=0)
    term = Term.objects.get(slug="epoch")
    assert "An epoch is one pass over" in term.definition
    assert list(term.revisions.values_list("number", flat=True)) == [2, 1]


def test_a_broken_content_file_is_refused_with_its_name(tmp_path):
    (tmp_path / "glossary").mkdir()
    (tmp_path / "glossary" / "broken.yaml").write_text("name: Broken\ndefinition: no snippet\n")
    with pytest.raises(CommandError, match=r"broken\.yaml: missing snippet, output"):
        call_command("load_learning_content", content_dir=tmp_path, verbosity=0)
    assert not Term.objects.filter(slug="broken").exists()


def test_every_slug_the_diagnosis_engine_cites_has_a_term():
    call_command("load_learning_content", verbosity=0)
    slugs = set(Term.objects.values_list("slug", flat=True))
    assert set(GLOSSARY_SLUGS) <= slugs
