import pytest

from hub.forum import selectors, services
from hub.forum.services import limits


@pytest.fixture
def corpus(make_user, make_question):
    author = make_user(reputation=500)

    def ask(title, body, tags=()):
        return make_question(author=author, title=title, body=body, tags=list(tags))

    return {
        "vanish_title": ask(
            "Vanishing gradients in a deep sigmoid network",
            "Early layers do not learn. The gradient norm is tiny.",
        ),
        "vanish_body": ask(
            "Early layers of my MLP do not train",
            "Someone said this could be vanishing gradients but I use sigmoid only at the end.",
        ),
        "nan": ask(
            "NaN loss with mixed precision", "After 300 steps with autocast the loss is NaN."
        ),
        "zero_grad": ask(
            "Loss does not decrease", "I never call optimizer.zero_grad() in my loop."
        ),
    }


@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "fallback"])
def test_search_ranks_title_matches_above_body_matches(corpus, use_postgres):
    results = selectors.question_search(query="vanishing gradients", use_postgres=use_postgres)
    ids = [q.pk for q in results]
    assert ids[:2] == [corpus["vanish_title"].pk, corpus["vanish_body"].pk]
    assert corpus["nan"].pk not in ids


@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "fallback"])
def test_search_snippets_mark_the_matches(corpus, use_postgres):
    results = selectors.question_search(query="autocast", use_postgres=use_postgres)
    assert [q.pk for q in results] == [corpus["nan"].pk]
    snippet = results[0].snippet
    assert selectors.MARK_START + "autocast" + selectors.MARK_STOP in snippet


def test_postgres_search_stems_words(corpus):
    results = selectors.question_search(query="decreasing", use_postgres=True)
    assert [q.pk for q in results] == [corpus["zero_grad"].pk]


def test_postgres_search_understands_websearch_syntax(corpus):
    results = selectors.question_search(query="gradients -sigmoid", use_postgres=True)
    assert corpus["vanish_title"].pk not in [q.pk for q in results]


def test_search_hides_hidden_questions_and_ignores_blank_queries(corpus, moderator):
    services.post_hide(moderator=moderator, target=corpus["nan"])
    for use_postgres in (True, False):
        assert selectors.question_search(query="autocast", use_postgres=use_postgres) == []
        assert selectors.question_search(query="  ", use_postgres=use_postgres) == []


def test_search_vector_follows_edits(corpus):
    question = corpus["zero_grad"]
    services.question_edit(
        question=question,
        editor=question.author,
        title="Training loss stays flat",
        body="The fix was a missing scheduler step here.",
        tags=[],
    )
    assert [q.pk for q in selectors.question_search(query="scheduler", use_postgres=True)] == [
        question.pk
    ]
    assert selectors.question_search(query="zero_grad", use_postgres=True) == []


def test_snippet_markers_cannot_be_forged_and_render_escaped(client, corpus, asker):
    from hub.forum.templatetags.forum_tags import marked_snippet

    html = marked_snippet("<b>x</b> \x02hit\x03")
    assert html == "&lt;b&gt;x&lt;/b&gt; <mark>hit</mark>"


def test_similar_questions_use_trigrams_on_postgres(corpus):
    similar = selectors.question_similar(title="vanishing gradient in deep sigmoid nets")
    assert similar and similar[0].pk == corpus["vanish_title"].pk
    assert selectors.question_similar(title="completely unrelated words here") == []


def test_fallback_finds_any_term_and_ranks_questions_with_all_terms_first(corpus):
    results = selectors.question_search(query="vanishing nan", use_postgres=False)
    ids = [q.pk for q in results]
    assert set(ids) == {corpus["vanish_title"].pk, corpus["vanish_body"].pk, corpus["nan"].pk}
    # title hits count three times a body hit
    assert ids.index(corpus["vanish_title"].pk) < ids.index(corpus["vanish_body"].pk)


def test_similar_questions_fallback_matches_shared_word_stems(corpus, monkeypatch):
    monkeypatch.setattr(selectors, "_uses_postgres", lambda: False)
    similar = selectors.question_similar(title="Loss not decreasing at all")
    assert [q.pk for q in similar] == [corpus["zero_grad"].pk]
    assert selectors.question_similar(title="Loss") == []


def test_search_finds_words_with_typos_and_prefixes_by_trigrams(corpus):
    for query in ("vanishng", "vanishing gradinets", "vanis", "autocst"):
        ids = [q.pk for q in selectors.question_search(query=query, use_postgres=True)]
        expected = corpus["nan"].pk if query == "autocst" else corpus["vanish_title"].pk
        assert ids and ids[0] == expected, query
    assert selectors.question_search(query="qwxzv", use_postgres=True) == []


def test_search_keeps_websearch_syntax_exact_when_nothing_matches(corpus):
    """No typo widening for quotes and exclusions: they ask for exactly that."""
    assert selectors.question_search(query='"vanishng gradients"', use_postgres=True) == []
    assert selectors.question_search(query="vanishng -sigmoid", use_postgres=True) == []


def test_search_typo_widening_finds_words_of_newly_asked_questions(corpus, make_question):
    question = make_question(
        title="Exploding logits in my transformer",
        body="Which fix helps here, clipping or a lower learning rate?",
    )
    ids = [q.pk for q in selectors.question_search(query="explodng logts", use_postgres=True)]
    assert ids == [question.pk]


def test_postgres_search_finds_words_in_answers_below_title_matches(corpus, make_user, moderator):
    answer = services.answer_create(
        author=make_user(),
        question=corpus["nan"],
        body="Use GradScaler and check for overflow in the softmax.",
    )
    corpus_title = services.question_create(
        author=make_user(reputation=500),
        title="Softmax overflow in float16 attention",
        body="Scores overflow before the softmax when I use half precision.",
        tags=[],
    )
    found = selectors.question_search(query="softmax overflow", use_postgres=True)
    ids = [q.pk for q in found]
    assert ids == [corpus_title.pk, corpus["nan"].pk]
    services.post_hide(moderator=moderator, target=answer)
    ids = [q.pk for q in selectors.question_search(query="softmax overflow", use_postgres=True)]
    assert ids == [corpus_title.pk]


def test_reindex_rebuilds_vectors_like_the_write_services(corpus, make_user):
    from django.core.management import call_command

    from hub.forum.models import Question

    services.answer_create(author=make_user(), question=corpus["nan"], body="Check the softmax.")
    expected = dict(Question.objects.values_list("pk", "search_vector"))
    Question.objects.update(search_vector=None, excerpt="")
    call_command("forum_reindex", verbosity=0)
    assert dict(Question.objects.values_list("pk", "search_vector")) == expected
    assert not Question.objects.filter(excerpt="").exists()


@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "fallback"])
def test_search_page_rows_show_snippets_and_writes_at_once(
    client, corpus, asker, make_user, monkeypatch, use_postgres
):
    monkeypatch.setattr(selectors, "_uses_postgres", lambda: use_postgres)
    nan = corpus["nan"]

    def page():
        response = client.get("/search/", {"q": "autocast"})
        assert response.status_code == 200
        return response.content.decode()

    html = page()  # rows now cached
    assert "NaN loss with mixed precision" in html
    assert "<mark>autocast</mark>" in html
    assert "1 result for" in html

    services.vote_cast(user=make_user(reputation=500), target=nan, value=1)
    assert "<strong>1</strong> vote<" in page()
    services.question_edit(
        question=nan,
        editor=nan.author,
        title="NaN loss under autocast after a few hundred steps",
        body="After 300 steps with autocast the loss is NaN, then inf.",
        tags=["amp"],
    )
    html = page()
    assert "NaN loss under autocast after a few hundred steps" in html
    assert "NaN loss with mixed precision" not in html
    assert 'href="/tags/amp/"' in html
    assert "the loss is NaN, then inf" in html


def test_reindex_fills_excerpts_into_cached_list_rows_at_once(client, corpus):
    from django.core.management import call_command

    from hub.forum.models import Question

    Question.objects.update(excerpt="")  # as after a bulk load
    assert "After 300 steps with autocast" not in client.get("/questions/").content.decode()
    call_command("forum_reindex", verbosity=0)
    assert "After 300 steps with autocast" in client.get("/questions/").content.decode()


@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "fallback"])
def test_search_snippets_are_plain_text_with_math_as_text(make_question, use_postgres):
    make_question(
        title="Sigmoid derivative bounds the gradient",
        body="Since $\\sigma'(x) \\le 0.25$ the **gradient** shrinks:\n\n"
        "```python\nloss.backward()\n```\n\nand $$\\frac{1}{n}$$ per layer.",
    )
    [hit] = selectors.question_search(query="gradient", use_postgres=use_postgres)
    snippet = hit.snippet.replace(selectors.MARK_START, "").replace(selectors.MARK_STOP, "")
    assert "σ'(x) ≤ 0.25" in snippet and "1/n" in snippet
    for markup in ("$", "\\", "**", "```"):
        assert markup not in snippet, markup
    assert selectors.MARK_START + "gradient" + selectors.MARK_STOP in hit.snippet


@pytest.mark.parametrize("use_postgres", [True, False], ids=["postgres", "fallback"])
def test_search_pages_hold_a_page_size_each_best_first(
    client, make_user, make_question, monkeypatch, use_postgres
):
    monkeypatch.setattr(selectors, "_uses_postgres", lambda: use_postgres)
    monkeypatch.setattr(selectors, "SEARCH_PAGE_SIZE", 3)
    monkeypatch.setattr(limits, "user_rate_limit", lambda **kwargs: None)  # seven asks
    author = make_user(reputation=500)
    asked = [
        make_question(
            author=author,
            title=f"Exploding loss in run {n}",
            body="The loss explodes after a while.",
        )
        for n in range(7)
    ]
    best_first = [q.title for q in sorted(asked, key=lambda q: -q.pk)]  # same rank: newest

    def titles(html):
        return [t for t in best_first if f">{t}<" in html]

    first = client.get("/search/", {"q": "exploding"}).content.decode()
    assert titles(first) == best_first[:3]
    assert "Results 1–3 for" in first and 'rel="next"' in first and 'rel="prev"' not in first
    second = client.get("/search/", {"q": "exploding", "page": 2}).content.decode()
    assert titles(second) == best_first[3:6]
    assert 'href="?q=exploding&amp;page=1"' in second and "page=3" in second
    last = client.get("/search/", {"q": "exploding", "page": 3}).content.decode()
    assert titles(last) == best_first[6:] and "Results 7–7 for" in last
    assert 'rel="next"' not in last
    junk = client.get("/search/", {"q": "exploding", "page": "x9"})
    assert junk.status_code == 200 and titles(junk.content.decode()) == best_first[:3]
