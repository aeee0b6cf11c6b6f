"""A member's shared page with their layer on top is the page rendered for them alone.

For each role the browser loads each page twice: first without the gh_js cookie (the page is
rendered for the member, as for a browser without JavaScript), then with it (the page every
reader gets, then forum.js puts the member's layer on it). The two documents are compared
node by node (whitespace between elements, CSRF tokens, times and counts aside). The page
rendered for them alone is in turn compared with the pages as they were before the shared
cache by tests/hub/forum/test_render_roles.py.
"""

import pytest
from django.test import Client
from playwright.sync_api import expect

from hub.accounts.member_version import member_version_bump
from hub.forum import services as forum_services
from hub.forum.services import limits
from hub.forum.views import layer as layer_views
from tests.factories import answer_make, thread_with_every_role, user_make

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The document as a list of lines: elements with sorted attributes, text with collapsed
# whitespace; what differs from load to load is replaced.
SNAPSHOT_JS = """() => {
  const out = [];
  const walk = (node, depth) => {
    if (node.nodeType === Node.TEXT_NODE) {
      let text = node.textContent.replace(/\\s+/g, " ").trim();
      if (!text) return;
      if (node.parentElement && node.parentElement.tagName === "TIME") text = "T";
      text = text.replace(/\\d+ online/, "N online").replace(/Viewed [\\d,]+ times?/, "Viewed N");
      out.push(" ".repeat(depth) + "#" + text);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const attrs = [...node.attributes]
      .filter((a) => !(node.name === "csrfmiddlewaretoken" && a.name === "value"))
      .map((a) => a.name + "=" + (a.name === "datetime" || a.name === "title" && node.tagName === "TIME" ? "D" : a.value))
      .sort();
    out.push(" ".repeat(depth) + node.tagName + " " + attrs.join(" "));
    const children = node.tagName === "TEMPLATE" ? node.content.childNodes : node.childNodes;
    children.forEach((child) => walk(child, depth + 1));
  };
  walk(document.body, 0);
  return out;
}"""


@pytest.fixture
def scene(db, monkeypatch):
    monkeypatch.setattr(limits, "user_rate_limit", lambda **kwargs: None)
    monkeypatch.setattr(limits, "new_user_question_cap", lambda user: None)
    return thread_with_every_role("layer")


def _sign_in(page, user, url: str) -> None:
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    page.context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": url}])


@pytest.mark.parametrize("role", ["member", "asker", "answerer", "moderator"])
def test_shared_page_with_the_layer_equals_the_page_rendered_for_the_member(
    page, live_server, scene, role, monkeypatch
):
    user = scene["people"][role]
    # answers every role sees alike, with their own scores: the layer sends their pieces once,
    # forum.js makes each one's from its id and score
    author, voter = user_make("layer_author"), user_make("layer_voter", reputation=500)
    for value in (1, -1):
        body = f"Another answer, voted {value}."
        extra = answer_make(author=author, question=scene["question"], body=body)
        forum_services.vote_cast(user=voter, target=extra, value=value)
    _sign_in(page, user, live_server.url)
    rendered = []  # the layer's parts rendered by its view (not taken from the cache)
    render = layer_views.render_to_string
    monkeypatch.setattr(
        layer_views,
        "render_to_string",
        lambda name, *a, **k: rendered.append(name) or render(name, *a, **k),
    )
    question_path = scene["question"].get_absolute_url()
    paths = [
        question_path,
        "/questions/",
        "/questions/?sort=top",
        "/tags/sgd/",
        "/search/?q=flat+epoch",
        question_path,  # now the member's parts are kept: the layer comes from the cache
    ]
    layer_requests = []
    page.on("request", lambda request: "/me/layer/" in request.url and layer_requests.append(1))
    for number, path in enumerate(paths):
        if number == len(paths) - 1:
            rendered.clear()
        page.context.clear_cookies(name="gh_js")
        page.goto(path)
        served_alone = page.evaluate(SNAPSHOT_JS)
        assert user.username in page.locator(".nav-user").inner_text()

        layer_requests.clear()
        with page.expect_response(lambda r, path=path: r.url.endswith(path)) as document:
            page.goto(path)
        html = document.value.text()
        if role == "moderator":  # never shared: hidden posts and moderation controls
            assert "Log out" in html
        else:  # the page every reader gets, then the member's layer: in it when it is kept
            shared, kept, layer = html.partition('<template id="member-layer">')
            assert "Log out" not in shared and "csrfmiddlewaretoken" not in shared
            assert 'name="csrfmiddlewaretoken" value="' not in layer.replace('value=""', "")
            page.wait_for_function(
                "name => document.querySelector('.nav-user').textContent.includes(name)",
                arg=user.username,
            )
            if path.startswith("/questions/") and path.count("/") > 3:
                page.wait_for_selector("#your-answer form")
            if number == len(paths) - 1 and role != "asker":
                assert kept and not layer_requests  # the layer from the cache, in the page
            else:
                assert not kept and len(layer_requests) == 1
        assert page.evaluate(SNAPSHOT_JS) == served_alone, (role, path)
    # the asker's own part is not kept (its trace states change with no bump)
    asker_parts = ["forum/_layer_nav.html", "forum/_layer_own.html"]
    assert rendered == (asker_parts if role == "asker" else []), rendered
    assert page.js_errors == []


def test_a_member_votes_and_comments_through_the_layer_on_a_shared_page(page, live_server, scene):
    """The forms the layer brings post with the member's CSRF token: htmx votes and plain
    form posts work."""
    question = scene["question"]
    _sign_in(page, scene["people"]["member"], live_server.url)
    page.goto(question.get_absolute_url())  # rendered for them; forum.js sets gh_js
    page.goto(question.get_absolute_url())  # shared, with the layer
    page.wait_for_selector("#your-answer form")
    second = scene["second"]
    other = question.answers.exclude(pk=second.pk).filter(is_hidden=False).first()
    vote_box = page.locator(f"#vote-answers-{other.pk}")
    vote_box.get_by_role("button", name="Withdraw your upvote").click()
    expect(page.locator(f"#vote-answers-{other.pk} .vote-score")).to_have_text(str(0))

    page.locator("#question details.comment-form summary").click()
    page.fill(f"#comment-questions-{question.pk}", "Posted through the member layer.")
    page.locator("#question details.comment-form").get_by_role("button").click()
    expect(page.locator("#question .comments")).to_contain_text("Posted through the member layer.")

    follow = page.locator("aside.sidebar .follow-form button")
    expect(follow).to_have_text("Follow")
    follow.click()  # a plain form post, then the shared page again with the member's layer
    expect(page.locator("aside.sidebar .follow-form button")).to_have_text("Following ✓")
    assert page.js_errors == []


def test_a_member_never_sees_the_log_in_header_while_their_layer_is_on_its_way(
    page, live_server, scene
):
    """The shared page comes with the visitor's header ("Log in"); a member's browser keeps
    that block hidden until the layer fills it, and shows it again if the layer fails."""
    question = scene["question"]
    member = scene["people"]["member"]
    _sign_in(page, member, live_server.url)
    page.goto(question.get_absolute_url())  # rendered for them; forum.js sets gh_js
    held = []
    page.route("**/me/layer/**", lambda route: held.append(route))  # the layer waits here
    page.goto(question.get_absolute_url(), wait_until="domcontentloaded")
    page.wait_for_function("() => document.readyState === 'complete'")
    assert held, "the shared page asked for the member layer"
    header = page.locator(".site-header .nav-user")
    expect(header.get_by_role("link", name="Log in")).to_be_hidden()
    expect(header.get_by_role("link", name="Sign up")).to_be_hidden()
    held[0].continue_()
    expect(header).to_contain_text(member.username)
    expect(header).to_be_visible()

    page.unroute("**/me/layer/**")
    page.route("**/me/layer/**", lambda route: route.abort())
    member_version_bump(user_id=member.pk)  # their kept parts are stale: the page asks for them
    page.goto(question.get_absolute_url())
    expect(header.get_by_role("link", name="Log in")).to_be_visible()  # no layer: not a blank
