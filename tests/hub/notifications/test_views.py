import pytest
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from hub.notifications.context_processors import notifications as notifications_context
from hub.notifications.models import Notification, NotificationSettings
from hub.notifications.selectors import notification_unread_count, question_is_followed
from hub.notifications.services import notify
from hub.notifications.views import PAGE_SIZE

pytestmark = pytest.mark.django_db


def test_the_list_needs_a_login(client):
    response = client.get("/notifications/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_list_shows_newest_first_with_unread_highlighted(client, make_user):
    alice = make_user()
    old = notify(recipient=alice, verb="answered", text="older news", url="/q/1/")
    old.is_read = True
    old.save()
    notify(recipient=alice, verb="mentioned", text="fresh news", url="/q/2/")
    client.force_login(alice)
    html = client.get("/notifications/").content.decode()
    assert html.index("fresh news") < html.index("older news")
    assert html.count("is-unread") == 1


def test_viewing_the_list_marks_it_read_yet_still_shows_which_were_new(client, make_user):
    alice = make_user()
    notify(recipient=alice, verb="answered", text="fresh news", url="/q/1/")
    client.force_login(alice)
    html = client.get("/notifications/").content.decode()
    header, page = html.split("</header>", 1)
    assert page.count("is-unread") == 1 and "(unread)" in page
    assert "badge" not in header  # the header of the same response already counts them read
    assert not Notification.objects.filter(recipient=alice, is_read=False).exists()
    assert "badge" not in client.get("/questions/").content.decode().split("</header>")[0]


def test_viewing_one_page_of_the_list_leaves_the_other_pages_unread(client, make_user):
    alice = make_user()
    for number in range(PAGE_SIZE + 2):
        notify(recipient=alice, verb="answered", text=f"news {number}", url=f"/q/{number}/")
    client.force_login(alice)
    html = client.get("/notifications/").content.decode()
    assert 'aria-label="2 unread"' in html and "Mark all read" in html
    assert Notification.objects.filter(recipient=alice, is_read=False).count() == 2


def test_an_empty_list_explains_what_will_arrive(client, make_user):
    client.force_login(make_user())
    assert b"Nothing here yet" in client.get("/notifications/").content


def test_go_marks_read_and_redirects_to_the_target(client, make_user):
    alice = make_user()
    n = notify(recipient=alice, verb="answered", text="t", url="/questions/1/x/#answer-2")
    client.force_login(alice)
    response = client.get(f"/notifications/{n.pk}/go/")
    assert response.status_code == 302 and response["Location"] == "/questions/1/x/#answer-2"
    n.refresh_from_db()
    assert n.is_read


def test_go_on_someone_elses_notification_changes_nothing(client, make_user):
    alice, mallory = make_user(), make_user()
    n = notify(recipient=alice, verb="answered", text="t", url="/q/1/")
    client.force_login(mallory)
    response = client.get(f"/notifications/{n.pk}/go/")
    assert response["Location"] == "/notifications/"
    n.refresh_from_db()
    assert not n.is_read


def test_go_never_redirects_off_site(client, make_user):
    alice = make_user()
    n = notify(recipient=alice, verb="answered", text="t", url="https://evil.example/")
    client.force_login(alice)
    assert client.get(f"/notifications/{n.pk}/go/")["Location"] == "/"


def test_mark_all_read_is_a_post_that_clears_the_count(client, make_user):
    alice = make_user()
    notify(recipient=alice, verb="answered", text="t", url="/q/1/")
    notify(recipient=alice, verb="answered", text="t", url="/q/2/")
    client.force_login(alice)
    assert client.get("/notifications/read-all/").status_code == 405
    assert client.post("/notifications/read-all/").status_code == 302
    assert notification_unread_count(user=alice) == 0


def test_the_email_preference_is_saved_from_the_form(client, make_user):
    alice = make_user()
    client.force_login(alice)
    client.post("/notifications/settings/", {"email_notifications": "on"})
    assert NotificationSettings.objects.get(user=alice).email_notifications
    client.post("/notifications/settings/", {})
    assert not NotificationSettings.objects.get(user=alice).email_notifications


def test_follow_toggle_post_follows_then_unfollows_and_goes_back(client, make_user, make_question):
    reader, question = make_user(), make_question()
    client.force_login(reader)
    assert client.get(f"/notifications/follow/{question.pk}/").status_code == 405
    response = client.post(f"/notifications/follow/{question.pk}/")
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    assert question_is_followed(user=reader, question=question)
    client.post(f"/notifications/follow/{question.pk}/", {"next": "/questions/"})
    assert not question_is_followed(user=reader, question=question)


def test_follow_toggle_of_a_missing_question_is_404(client, make_user):
    client.force_login(make_user())
    assert client.post("/notifications/follow/999999999/").status_code == 404


def test_the_header_count_is_one_query_and_none_for_visitors(make_user):
    alice = make_user()
    notify(recipient=alice, verb="answered", text="t", url="/q/1/")
    request = RequestFactory().get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    with CaptureQueriesContext(connection) as queries:
        assert notifications_context(request)["unread_notifications"] == 0
    assert len(queries) == 0
    request.user = alice
    with CaptureQueriesContext(connection) as queries:
        count = notifications_context(request)["unread_notifications"]
        assert int(str(count)) == 1
    assert len(queries) == 1 and "COUNT" in queries[0]["sql"]


def test_the_header_shows_the_unread_badge(client, make_user):
    alice = make_user()
    notify(recipient=alice, verb="answered", text="t", url="/q/1/")
    notify(recipient=alice, verb="answered", text="t", url="/q/2/")
    client.force_login(alice)
    html = client.get("/questions/").content.decode()
    assert 'aria-label="2 unread"' in html
    Notification.objects.update(is_read=True)
    html = client.get("/questions/").content.decode()
    assert 'unread"' not in html.split("</header>")[0]


def test_the_follow_button_tag_shows_the_current_state(make_user, make_question):
    from django.template import engines

    reader, question = make_user(), make_question()
    template = engines["django"].from_string(
        "{% load notifications_tags %}{% follow_button question %}"
    )
    request = RequestFactory().get("/questions/")
    request.user = reader
    html = template.render({"question": question}, request)
    assert f"/notifications/follow/{question.pk}/" in html and ">Follow<" in html
    from hub.notifications.services import question_follow

    question_follow(user=reader, question=question)
    assert "Following" in template.render({"question": question}, request)
