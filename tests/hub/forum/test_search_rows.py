"""Search on PostgreSQL as one ranked query, and snippets cut from the plain text in Python."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from hub.forum import selectors
from hub.forum.search_rows import MARK_START, MARK_STOP, snippet, tsquery_terms

LONG = (
    "I am training a small model and the loss goes down for a while. Then the gradients of "
    "the first layers vanish in a deep sigmoid MLP and nothing learns at all any more, so here "
    "is a minimal example: import torch from torch import nn model = nn.Sequential(nn.Linear(64, "
    "64), nn.Sigmoid()) and a tail of words that goes on well past the snippet's end."
)


def shown(text: str) -> str:
    return text.replace(MARK_START, "[").replace(MARK_STOP, "]")


def test_a_short_text_is_shown_whole_with_every_form_of_a_lexeme_marked():
    terms = tsquery_terms("'gradient' & 'vanish'")
    text = "Vanishing gradients: the gradient vanishes. Why?"
    assert shown(snippet(text, terms)) == "[Vanishing] [gradients]: the [gradient] [vanishes]. Why?"


def test_a_long_text_shows_min_to_max_words_from_its_best_run_of_matches():
    terms = tsquery_terms("'vanish' & 'gradient' & 'sigmoid'")
    assert shown(snippet(LONG, terms)) == (
        "[gradients] of the first layers [vanish] in a deep [sigmoid] MLP and nothing learns at"
        " all any more"
    )  # 15 words from the first word of the run, then on past the short "at", "all", "any"


def test_the_run_with_the_most_lexemes_wins_over_an_earlier_match():
    terms = tsquery_terms("'loss' & 'sigmoid'")
    # "loss" early, then "sigmoid" more than 30 words later with a second "loss" next to it
    text = "The loss " + "word " * 40 + "my loss and a sigmoid unit " + "tail " * 20
    assert shown(snippet(text, terms)).startswith("[loss] and a [sigmoid] unit tail")


def test_without_a_match_the_first_words_are_shown():
    terms = tsquery_terms("'adam'")
    assert shown(snippet(LONG, terms)) == (
        "I am training a small model and the loss goes down for a while. Then"
    )
    assert snippet(LONG, None) == snippet(LONG, terms)


def test_a_match_near_the_end_takes_words_before_it():
    terms = tsquery_terms("'end'")
    assert shown(snippet(LONG, terms)) == (
        "nn.Sigmoid()) and a tail of words that goes on well past the snippet's [end]."
    )  # 15 words ("nn.Sigmoid" one, "snippet's" two), to the text's end


def test_words_split_as_postgres_splits_them_and_prefixes_match_only_as_prefixes():
    assert shown(snippet("call zero_grad first", tsquery_terms("'grad'"))) == (
        "call zero_[grad] first"
    )
    assert shown(snippet("vanishing gradients", tsquery_terms("'vanishng':* | 'vanish'"))) == (
        "[vanishing] gradients"
    )
    assert shown(snippet("vanishing gradients", tsquery_terms("'vanishng':*"))) == (
        "vanishing gradients"
    )
    assert shown(snippet("a happy study", tsquery_terms("'happi' & 'studi'"))) == (
        "a [happy] [study]"
    )
    assert shown(snippet("it's O'Neil's", tsquery_terms("'o''neil'"))) == "it's [O'Neil]'s"
    # a text whose lower case is longer ("İ" is two characters lowered) is shown unmarked
    assert snippet("İzmir gradients", tsquery_terms("'gradient'")) == "İzmir gradients"


@pytest.fixture
def asked(make_user, make_question):
    author = make_user(reputation=1234)
    make_question(
        author=author,
        title="Vanishing gradients in a deep sigmoid network",
        body="Early layers do not learn anything.",
        tags=["sigmoid", "autograd"],
    )
    make_question(
        author=author, title="Gradients vanish again", body="Same here, nothing learns.", tags=[]
    )


def test_results_come_with_author_reputation_and_tags_from_one_query(asked):
    with CaptureQueriesContext(connection) as queries:
        results = selectors.question_search(query="vanishing gradients", use_postgres=True)
        rows = [
            (q.title, q.author.profile.reputation, [t.name for t in q.tags.all()], q.diagnosed)
            for q in results
        ]
    assert len(queries) == 1
    assert sorted(rows) == [
        ("Gradients vanish again", 1234, [], False),
        ("Vanishing gradients in a deep sigmoid network", 1234, ["autograd", "sigmoid"], False),
    ]
    # the tags stay a queryset of the question's own
    tagged = next(q for q in results if q.title.startswith("Vanishing"))
    assert [t.name for t in tagged.tags.filter(name="sigmoid")] == ["sigmoid"]


def test_the_search_page_and_the_api_run_the_one_ranked_query(client, asked):
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/search/", {"q": "vanishing gradients"}).status_code == 200
    assert [q["sql"] for q in queries if "forum_question" in q["sql"]] == [
        q["sql"] for q in queries if "ts_rank" in q["sql"]
    ]
    assert len([q for q in queries if "ts_rank" in q["sql"]]) == 1
    found = client.get("/api/v1/questions/", {"q": "vanishing gradients"}).json()["results"]
    assert sorted((q["title"], q["author"]["reputation"], q["tags"]) for q in found) == [
        ("Gradients vanish again", 1234, []),
        ("Vanishing gradients in a deep sigmoid network", 1234, ["autograd", "sigmoid"]),
    ]


def test_moderators_find_hidden_questions_and_members_do_not(make_question, moderator, asker):
    from hub.forum import services

    hidden = make_question(
        title="Exploding logits in attention", body="The logits explode after a while."
    )
    services.post_hide(moderator=moderator, target=hidden)
    found = selectors.question_search(query="exploding logits", viewer=moderator, use_postgres=True)
    assert [(q.pk, q.is_hidden) for q in found] == [(hidden.pk, True)]
    assert (
        selectors.question_search(query="exploding logits", viewer=asker, use_postgres=True) == []
    )


def test_every_match_in_the_snippet_is_marked_however_many_the_text_holds():
    text = "nan " * 40
    marked = snippet(text, tsquery_terms("'nan'"))
    assert marked.count(MARK_START) == 15 and MARK_START + "nan" + MARK_STOP in marked
