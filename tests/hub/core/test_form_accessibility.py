"""Every aria-describedby on the site's forms names an element that is on the page."""

from html.parser import HTMLParser

import pytest

pytestmark = pytest.mark.django_db


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.described_by: list[tuple[str, str]] = []  # (the element's name or id, the id)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        for target in (attrs.get("aria-describedby") or "").split():
            self.described_by.append((attrs.get("name") or attrs.get("id") or tag, target))


def _dangling_descriptions(html: str) -> list[tuple[str, str]]:
    parser = _Ids()
    parser.feed(html)
    return [(name, target) for name, target in parser.described_by if target not in parser.ids]


@pytest.fixture
def member_client(client, make_user):
    client.force_login(make_user(reputation=50))
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/questions/ask/",
        "/traces/new/",
        "/accounts/signup/",
        "/notifications/",
        "/settings/tokens/",
    ],
)
def test_every_aria_describedby_on_a_form_page_points_at_an_element(member_client, url):
    if url == "/accounts/signup/":
        member_client.logout()
    response = member_client.get(url)
    assert response.status_code == 200
    assert _dangling_descriptions(response.content.decode()) == []


def test_every_aria_describedby_of_the_answer_and_close_forms_points_at_an_element(
    client, make_user
):
    from tests.factories import question_make

    question = question_make(author=make_user())
    client.force_login(make_user(moderator=True))  # a moderator also sees the close form
    html = client.get(question.get_absolute_url()).content.decode()
    assert 'name="body"' in html and 'name="duplicate_of"' in html
    assert _dangling_descriptions(html) == []
