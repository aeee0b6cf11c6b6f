import pytest

from hub.glossary import services
from hub.glossary.models import Term

pytestmark = pytest.mark.django_db


def test_a_written_term_is_rendered_and_gets_its_next_revision(django_user_model):
    editor = django_user_model.objects.create_user("editor", password="pw-editor-1")
    term = services.term_write(
        term=Term(slug="logit", name="Logit", definition="A *raw* score."), editor=editor
    )
    term.definition = "A raw, unnormalised score."
    term = services.term_write(term=term, editor=editor, note="clearer")
    assert "<em>raw</em>" not in term.definition_html and "unnormalised" in term.definition_html
    assert [(r.number, r.note, r.editor) for r in term.revisions.order_by("number")] == [
        (1, "", editor),
        (2, "clearer", editor),
    ]


def test_a_term_whose_revision_cannot_be_recorded_is_not_saved(monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("revision store down")

    monkeypatch.setattr(services, "term_revision_record", fail)
    with pytest.raises(RuntimeError):
        services.term_write(term=Term(slug="logit", name="Logit", definition="A raw score."))
    assert not Term.objects.filter(slug="logit").exists()
