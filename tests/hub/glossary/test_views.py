import pytest
from django.contrib.auth import get_user_model

from hub.forum.models import Question, Tag
from hub.glossary.models import Term

pytestmark = pytest.mark.django_db


@pytest.fixture
def terms(make_term):
    relu = make_term("ReLU", aliases=["rectified linear unit"])
    dead = make_term("Dead ReLU", aliases=["dying ReLU"], definition="A ReLU that never fires.")
    vanishing = make_term("Vanishing Gradient", aliases=["vanishing gradients"])
    relu.related.set([dead])
    return {"relu": relu, "dead": dead, "vanishing": vanishing}


def _question(title: str, *, tags: list[str], hidden: bool = False) -> Question:
    author, _ = get_user_model().objects.get_or_create(username="asker")
    question = Question.objects.create(
        author=author, title=title, slug="q", body="body", is_hidden=hidden
    )
    question.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    return question


def test_index_lists_terms_under_their_letter_with_an_a_to_z_bar(client, terms):
    response = client.get("/glossary/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'href="#letter-R"' in html and 'href="#letter-D"' in html
    assert 'href="#letter-Q"' not in html  # no term starts with Q: not a link
    section_r = html.split('id="letter-R"')[1].split("</section>")[0]
    assert ">ReLU</a>" in section_r and "Dead ReLU" not in section_r
    assert "ReLU is a term used in tests." in section_r  # one-sentence summary


def test_search_finds_terms_by_name_alias_and_definition_name_first(client, terms):
    html = client.get("/glossary/", {"q": "relu"}).content.decode()
    assert "2 terms for “relu”" in html
    assert html.index(">ReLU</a>") < html.index(">Dead ReLU</a>")
    assert ">Dead ReLU</a>" in client.get("/glossary/", {"q": "Dying relu"}).content.decode()
    assert "No term matches" in client.get("/glossary/", {"q": "transformer"}).content.decode()
    assert ">Dead ReLU</a>" in client.get("/glossary/", {"q": "dead_relu"}).content.decode()


def test_term_page_shows_definition_snippet_output_related_terms_and_tagged_questions(
    client, terms
):
    tagged = _question("My ReLUs all output zero", tags=["dead-relu"])
    by_alias = _question("Dying ReLU after a big step", tags=["dying-relu"])
    _question("Hidden one", tags=["dead-relu"], hidden=True)
    _question("Unrelated", tags=["pytorch"])
    html = client.get("/glossary/dead-relu/").content.decode()
    assert "<h1>Dead ReLU</h1>" in html
    assert "print" in html and "Output" in html
    assert tagged.title in html and by_alias.title in html
    assert "Hidden one" not in html and "Unrelated" not in html
    relu_html = client.get("/glossary/relu/").content.decode()
    assert 'href="/glossary/dead-relu/"' in relu_html  # related term chip


def test_an_alias_slug_redirects_to_the_term_and_an_unknown_slug_is_404(client, terms):
    response = client.get("/glossary/vanishing-gradients/")
    assert response.status_code == 301
    assert response["Location"] == "/glossary/vanishing-gradient/"
    assert client.get("/glossary/no-such-term/").status_code == 404


def test_staff_edit_in_the_admin_keeps_a_revision_with_the_editor(client, terms):
    staff = get_user_model().objects.create_superuser("editor", "e@example.com", "pw-12345-xyz")
    client.force_login(staff)
    relu = terms["relu"]
    response = client.post(
        f"/admin/glossary/term/{relu.pk}/change/",
        {
            "name": "ReLU",
            "slug": "relu",
            "aliases": '["rectified linear unit", "relu6 no"]',
            "definition": "ReLU keeps positives and zeroes negatives. Vanishing gradients less so.",
            "snippet": "print(2)\n",
            "expected_output": "2\n",
            "related": [terms["dead"].pk],
            "revisions-TOTAL_FORMS": "0",
            "revisions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    relu = Term.objects.get(pk=relu.pk)
    revision = relu.revisions.order_by("-number").first()
    assert revision.editor == staff and revision.note == "edited in the admin"
    assert revision.definition.startswith("ReLU keeps positives")
    assert revision.related_slugs == ["dead-relu"]
    # The definition was re-rendered with auto-links on save.
    assert 'href="/glossary/vanishing-gradient/"' in relu.definition_html


def test_a_nul_byte_in_the_glossary_search_is_a_400_not_a_500(client, terms):
    response = client.get("/glossary/", {"q": "re\x00lu"})
    assert response.status_code == 400
    assert "control character" in response.content.decode()


def test_a_terms_snippet_is_titled_after_the_term_not_torch_py(client, terms):
    # saved as torch.py, a snippet would shadow the real torch package on import
    html = client.get("/glossary/dead-relu/").content.decode()
    assert '<h2 id="snippet-title" class="file-name">dead_relu.py</h2>' in html
    assert "torch.py" not in html
