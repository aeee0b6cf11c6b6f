import pytest
from django.core.management import call_command
from django.utils.html import strip_tags

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def content(django_db_setup, django_db_blocker):
    # Loaded once for this module's read-only page tests, and removed afterwards.
    from hub.glossary.models import Term
    from hub.learn.models import Article, FaqEntry, Lesson

    with django_db_blocker.unblock():
        call_command("load_learning_content", verbosity=0)
        yield
        for model in (Term, Lesson, Article, FaqEntry):
            model.objects.all().delete()


def test_the_article_covers_its_topics_with_math_code_and_links(client, content):
    response = client.get("/articles/backpropagation/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Backpropagation: The Engine of AI Learning" in html
    for heading in (
        "The credit-assignment problem",
        "The chain rule",
        "autograd",
        "Gradient descent and the learning rate",
    ):
        assert heading in strip_tags(html)  # headings may hold glossary links
    assert 'class="math block"' in html and 'class="codehilite"' in html
    # Cross-links: glossary (auto-linked), lesson, FAQ, forum.
    assert 'class="glossary-link" href="/glossary/chain-rule/"' in html
    assert 'href="/learn/backprop/"' in html and 'href="/faq/"' in html
    assert 'href="/questions/ask/"' in html
    assert client.get("/articles/nope/").status_code == 404


def test_the_faq_answers_the_core_questions_with_anchors_and_links(client, content):
    html = client.get("/faq/").content.decode()
    for question in (
        "What is backpropagation, in simple terms?",
        "What is the vanishing gradient problem?",
        "Why does PyTorch need gradients zeroed with zero_grad()?",
    ):
        assert question in html
    assert 'id="vanishing-gradient-problem"' in html
    assert 'href="/tags/vanishing-gradients/"' in html
    assert 'class="glossary-link" href="/glossary/backpropagation/"' in html
    assert 'href="/learn/backprop/"' in html


def test_glossary_term_pages_link_back_to_the_lesson_article_and_faq(client, content):
    html = client.get("/glossary/backpropagation/").content.decode()
    assert 'href="/learn/backprop/"' in html
    assert 'href="/articles/backpropagation/"' in html and 'href="/faq/"' in html
