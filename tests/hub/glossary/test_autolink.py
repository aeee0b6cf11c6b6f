import pytest

from hub.glossary.autolink import autolink_exclusions, autolink_html

pytestmark = pytest.mark.django_db


@pytest.fixture
def terms(make_term):
    return {
        "relu": make_term("ReLU", aliases=["rectified linear unit"]),
        "gradient": make_term("Gradient", aliases=["gradients"]),
        "vanishing-gradient": make_term("Vanishing Gradient", aliases=["vanishing gradients"]),
        "zero-grad": make_term("zero_grad", slug="zero-grad", aliases=["zero_grad()"]),
    }


def _links(html: str) -> list[str]:
    from html.parser import HTMLParser

    found = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "a" and attrs.get("class") == "glossary-link":
                found.append(attrs["href"])

    Collect().feed(html)
    return found


def test_first_mention_of_a_term_is_linked_with_its_definition_as_title(terms):
    html = autolink_html("<p>Use ReLU here. ReLU again.</p>")
    assert html.count('class="glossary-link"') == 1
    assert (
        '<a class="glossary-link" href="/glossary/relu/" title="ReLU is a term used in tests.">ReLU</a> here. ReLU again.'
        in html
    )


def test_matching_is_case_insensitive_and_keeps_the_original_spelling(terms):
    html = autolink_html("<p>a relu unit</p>")
    assert '<a class="glossary-link" href="/glossary/relu/"' in html
    assert ">relu</a> unit" in html


def test_aliases_link_to_their_term_and_count_as_its_first_mention(terms):
    html = autolink_html("<p>A rectified linear unit, also called ReLU.</p>")
    assert _links(html) == ["/glossary/relu/"]
    assert ">rectified linear unit</a>" in html


def test_only_whole_words_are_linked(terms):
    html = autolink_html("<p>LeakyReLU, ReLU6, nn.ReLU, relu_ and pre-relu are not ReLU.</p>")
    assert _links(html) == ["/glossary/relu/"]
    assert html.endswith(
        'not <a class="glossary-link" href="/glossary/relu/" title="ReLU is a term used in tests.">ReLU</a>.</p>'
    )


def test_the_longest_spelling_wins(terms):
    html = autolink_html("<p>Vanishing gradients hurt. The gradient is small.</p>")
    assert _links(html) == ["/glossary/vanishing-gradient/", "/glossary/gradient/"]
    assert ">Vanishing gradients</a> hurt" in html


def test_text_inside_code_pre_links_and_math_is_left_alone(terms):
    html = (
        "<p><code>ReLU</code> <a href='/x'>ReLU</a> <span class=\"math inline\">ReLU</span></p>"
        '<pre class="codehilite"><code>relu = ReLU()</code></pre>'
        '<div class="math block">\\text{gradient}</div>'
    )
    assert autolink_html(html) == html


def test_a_term_is_linked_after_a_code_span_that_mentions_it(terms):
    html = autolink_html("<p>Call <code>zero_grad()</code> because zero_grad() clears .grad</p>")
    assert html.startswith(
        '<p>Call <code>zero_grad()</code> because <a class="glossary-link" href="/glossary/zero-grad/"'
    )


def test_nested_markup_survives_unchanged(terms):
    html = "<h2>Why ReLU?</h2><p>ReLU &amp; more <strong>bold</strong><br>line &#x27;x&#x27;</p>"
    linked = autolink_html(html)
    assert _links(linked) == ["/glossary/relu/"]
    assert (
        linked.replace(
            '<a class="glossary-link" href="/glossary/relu/" title="ReLU is a term used in tests.">ReLU</a>',
            "ReLU",
        )
        == html
    )


def test_excluded_slugs_are_not_linked(terms):
    assert _links(autolink_html("<p>ReLU and gradients</p>", exclude=("relu",))) == [
        "/glossary/gradient/"
    ]
    with autolink_exclusions({"gradient"}):
        assert _links(autolink_html("<p>ReLU and gradients</p>")) == ["/glossary/relu/"]


def test_html_without_terms_or_an_empty_glossary_comes_back_unchanged(db):
    assert autolink_html("<p>ReLU</p>") == "<p>ReLU</p>"
    assert autolink_html("") == ""


def test_a_new_term_is_linked_without_restarting(terms, make_term):
    assert _links(autolink_html("<p>Adam is fine</p>")) == []
    make_term("Adam")
    assert _links(autolink_html("<p>Adam is fine</p>")) == ["/glossary/adam/"]


def test_the_tooltip_is_escaped(make_term):
    make_term("Epoch", definition='One "pass" over <data>. More.')
    html = autolink_html("<p>one epoch</p>")
    assert 'title="One &quot;pass&quot; over &lt;data&gt;."' in html


def test_terms_sharing_a_prefix_are_told_apart(make_term):
    make_term("Adam")
    make_term("AdamW")
    html = autolink_html("<p>AdamW is not Adam; adamwx is neither.</p>")
    assert _links(html) == ["/glossary/adamw/", "/glossary/adam/"]
    assert ">AdamW</a> is not <a" in html and "adamwx is neither" in html


def test_a_spelling_wrapped_over_two_lines_still_matches(terms):
    html = autolink_html("<p>the vanishing\ngradients problem</p>")
    assert _links(html) == ["/glossary/vanishing-gradient/"]
    assert ">vanishing\ngradients</a> problem" in html


@pytest.mark.parametrize("level", range(1, 7))
def test_headings_are_never_linked(terms, level):
    html = autolink_html(f"<h{level}>Vanishing gradients in ReLU nets</h{level}><p>ReLU</p>")
    assert _links(html) == ["/glossary/relu/"]
    assert html.startswith(f"<h{level}>Vanishing gradients in ReLU nets</h{level}>")


def test_the_gradient_doctors_name_is_never_linked_but_a_later_gradient_is(terms):
    html = autolink_html("<p>The Gradient Doctor looked at the gradient norms.</p>")
    assert "The Gradient Doctor looked" in html
    assert _links(html) == ["/glossary/gradient/"]
    assert '">gradient</a> norms' in html


def test_the_bot_posts_banner_is_never_linked(terms, make_term):
    from hub.glossary.markdown import render_markdown
    from hub.traces.bot_post import BOT_POST_BANNER

    make_term("Automated Diagnosis")
    html = render_markdown(f"{BOT_POST_BANNER} of a trace")
    assert _links(html) == []
