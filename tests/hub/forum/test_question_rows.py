"""The question rows of the lists and search results, rendered in Python (forum_tags), are
the bytes the row template rendered (kept here as it was), in every state a row can show."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.humanize.templatetags import humanize
from django.template import Context, Template

from hub.forum import selectors
from hub.forum.templatetags.forum_tags import natural_time, question_rows

# templates/forum/_question_summary.html before the rows were rendered in Python
ROW_TEMPLATE = """{% load humanize forum_tags %}<li class="q-summary">
  <div class="q-stats" aria-label="{{ q.score }} votes, {{ q.answer_count }} answers, {{ q.view_count }} views">
    <span class="votes"><strong>{{ q.score }}</strong> vote{{ q.score|pluralize }}</span>
    <span class="answers{% if q.accepted_answer_id %} accepted{% elif q.answer_count %} has-answers{% endif %}">{% if q.accepted_answer_id %}✓ {% endif %}{{ q.answer_count }} answer{{ q.answer_count|pluralize }}</span>
    {% if q.diagnosed %}<span class="diagnosed-badge" title="The Gradient Doctor diagnosed its trace; no person has answered yet">diagnosed</span>{% endif %}
    <span>{{ q.view_count|intcomma }} view{{ q.view_count|pluralize }}</span>
  </div>
  <div>
    <h3 class="q-title"><a href="/questions/{{ q.pk }}/{{ q.slug }}/">{{ q.title }}</a>{% if q.is_closed %}<span class="state-pill closed">closed</span>{% endif %}{% if q.is_hidden %}<span class="state-pill hidden">hidden</span>{% endif %}</h3>
    {% if q.snippet %}<p class="q-excerpt search-snippet">{{ q.snippet|marked_snippet }}</p>{% elif q.excerpt %}<p class="q-excerpt">{{ q.excerpt }}</p>{% endif %}
    <div class="q-meta">
      <div>{% for tag in q.tags.all %}<a class="tag" href="/tags/{{ tag.slug }}/">{{ tag.name }}</a>{% endfor %}</div>
      <span class="byline"><a href="/users/{{ q.author.username }}/">{{ q.author.username }}</a> <span class="rep" title="reputation">{{ q.author.profile.reputation|intcomma }}</span> · asked <time datetime="{{ q.created_at|date:'c' }}">{{ q.created_at|naturaltime }}</time></span>
    </div>
  </div>
</li>
"""
LOOPS = {  # as the lists and search results included it, and as the home page did
    "lists": "{% load l10n %}{% localize off %}{% for q in rows %}"
    + ROW_TEMPLATE
    + "{% endfor %}{% endlocalize %}",
    "home": "{% for q in rows %}" + ROW_TEMPLATE + "{% endfor %}",
}


def _rows_every_state(make_user, make_question) -> list:
    author = make_user(reputation=1_234_567)
    make_question(author=author, title='Loss is <NaN> & "inf"', tags=["amp", "pytorch"])
    make_question(author=author, title="Gradients vanish in my sigmoid network", tags=[])
    make_question(author=author, title="Why does my loss not decrease at all?")
    rows = list(selectors.question_list(sort="newest"))
    first, second, third = rows
    first.score, first.answer_count, first.view_count, first.accepted_answer_id = 1, 1, 1, 7
    first.is_closed = first.is_hidden = first.diagnosed = True
    first.author.username = "ada<&\"'>"  # (sign-up allows none of these: escaped all the same)
    first.created_at -= timedelta(days=400, hours=5, minutes=30)
    second.score, second.answer_count, second.view_count, second.excerpt = -3, 2, 12_345, ""
    second.created_at -= timedelta(hours=3, minutes=30)
    third.snippet = "… the <b>" + selectors.MARK_START + "loss" + selectors.MARK_STOP + "</b> …"
    third.created_at -= timedelta(days=33, hours=2, minutes=30)
    return rows


@pytest.mark.parametrize("loop", LOOPS)
def test_rows_render_as_the_row_template_did(make_user, make_question, loop):
    rows = _rows_every_state(make_user, make_question)
    expected = Template(LOOPS[loop]).render(Context({"rows": rows}))
    assert question_rows(rows) == expected
    assert "<mark>loss</mark>" in expected and "&lt;NaN&gt; &amp; &quot;inf&quot;" in expected


@pytest.mark.parametrize(
    "ago",
    [
        timedelta(microseconds=300),
        timedelta(seconds=1),
        timedelta(seconds=59, microseconds=999),
        timedelta(minutes=1),
        timedelta(minutes=59, seconds=59),
        timedelta(hours=1),
        timedelta(hours=23, minutes=59),
        timedelta(days=1),
        timedelta(days=6, hours=23),
        timedelta(days=7),
        timedelta(days=15, hours=3),
        timedelta(days=31),
        timedelta(days=59),
        timedelta(days=366),
        timedelta(days=800, hours=7),
        timedelta(0),
        timedelta(seconds=-30),
        timedelta(days=-3),
    ],
)
@pytest.mark.parametrize(
    "now", [datetime(2026, 3, 31, 12, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)]
)
def test_natural_time_says_what_humanize_says(monkeypatch, ago, now):
    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return now

    monkeypatch.setattr(humanize, "datetime", Frozen)
    assert natural_time(now - ago, now) == humanize.naturaltime(now - ago)
