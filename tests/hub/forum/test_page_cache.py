"""Cached markup on the question page and the lists is never stale after a write."""

import re
import threading

import pytest
from django.db import connection, transaction

from hub.forum import services
from hub.forum.services import limits


@pytest.fixture(autouse=True)
def _no_rate_limits(monkeypatch):
    monkeypatch.setattr(limits, "user_rate_limit", lambda **kwargs: None)


def _page(client, question) -> str:
    response = client.get(question.get_absolute_url())
    assert response.status_code == 200
    return response.content.decode()


def test_anonymous_question_page_shows_a_new_answer_comment_and_edit_at_once(
    client, question, answer, asker, answerer
):
    assert "You forgot optimizer.zero_grad()" in _page(client, question)  # now cached

    services.answer_create(
        author=answerer, question=question, body="Also check the learning rate schedule."
    )
    assert "Also check the learning rate schedule." in _page(client, question)

    services.comment_create(author=asker, target=answer, body="That was it, thank you!")
    assert "That was it, thank you!" in _page(client, question)

    services.comment_create(author=answerer, target=question, body="Which optimizer is this?")
    assert "Which optimizer is this?" in _page(client, question)

    services.answer_edit(answer=answer, editor=answerer, body="Call optimizer.zero_grad() first.")
    html = _page(client, question)
    assert "Call optimizer.zero_grad() first." in html
    assert "You forgot optimizer.zero_grad()" not in html


def test_anonymous_question_page_shows_a_vote_accept_and_hide_at_once(
    client, question, answer, asker, make_user, moderator
):
    assert 'aria-label="score 0"' in _page(client, question)

    services.vote_cast(user=make_user(reputation=500), target=answer, value=1)
    assert 'aria-label="score 1"' in _page(client, question)

    services.answer_accept(user=asker, answer=answer)
    assert 'aria-label="Accepted answer"' in _page(client, question)

    services.post_hide(moderator=moderator, target=answer)
    assert "You forgot optimizer.zero_grad()" not in _page(client, question)


def test_hiding_a_comment_on_an_answer_removes_it_from_the_cached_page(
    client, question, answer, asker, moderator
):
    comment = services.comment_create(author=asker, target=answer, body="A rude remark here.")
    assert "A rude remark here." in _page(client, question)
    services.post_hide(moderator=moderator, target=comment)
    assert "A rude remark here." not in _page(client, question)


def test_cached_anonymous_markup_is_never_shown_to_a_member(client, question, answer, make_user):
    _page(client, question)  # cache the anonymous version
    client.force_login(make_user(reputation=500))
    html = _page(client, question)
    assert 'action="/answers/' in html  # live vote forms, not the anonymous login links
    assert "Log in to vote" not in html
    assert "csrfmiddlewaretoken" in html


def test_anonymous_markup_holds_no_csrf_token(client, question, answer):
    html = _page(client, question)
    assert "csrfmiddlewaretoken" not in html


def test_question_list_rows_show_a_vote_and_an_edit_at_once(client, question, make_user, asker):
    assert "Why does my loss not decrease at all?" in client.get("/questions/").content.decode()
    services.vote_cast(user=make_user(reputation=500), target=question, value=1)
    html = client.get("/questions/").content.decode()
    assert "<strong>1</strong> vote" in html
    services.question_edit(
        question=question,
        editor=asker,
        title="Why does my loss stay flat from the first epoch?",
        body=question.body,
        tags=["pytorch"],
    )
    html = client.get("/questions/").content.decode()
    assert "Why does my loss stay flat from the first epoch?" in html
    assert "Why does my loss not decrease at all?" not in html
    assert "Why does my loss stay flat" in client.get("/tags/pytorch/").content.decode()


def test_question_list_drops_a_hidden_question_at_once(client, question, moderator):
    assert question.title in client.get("/questions/").content.decode()
    services.post_hide(moderator=moderator, target=question)
    assert question.title not in client.get("/questions/").content.decode()


def test_question_list_shows_a_new_question_at_once(client, make_question):
    make_question(title="The first question on this site")
    assert "The first question on this site" in client.get("/questions/").content.decode()
    make_question(title="A second question arrives later")
    html = client.get("/questions/").content.decode()
    assert "A second question arrives later" in html
    assert "2 questions" in html


def test_visitors_and_members_with_the_layer_share_pages_moderators_do_not(rf, make_user):
    from django.contrib.auth.models import AnonymousUser

    from hub.forum.page_cache import SharedPage

    def shared(user=None, **cookies):
        request = rf.get("/questions/")
        request.user = user or AnonymousUser()
        request.COOKIES.update(cookies)
        return SharedPage(request, params=("sort", "page")).shared

    assert shared()
    assert shared(sessionid="a visitor's session")
    assert shared(user=make_user(), gh_js="1")
    assert not shared(user=make_user())  # no layer without JavaScript: rendered for them
    assert not shared(user=make_user(moderator=True), gh_js="1")


def test_a_page_with_a_pending_message_is_rendered_for_its_reader(client, question, asker):
    client.force_login(asker)
    client.cookies["gh_js"] = "1"
    assert client.get(question.get_absolute_url()).status_code == 200  # shared, now cached
    form = {"title": question.title, "body": question.body + " Edited.", "tags": "pytorch"}
    response = client.post(f"/questions/{question.pk}/edit/", form, follow=True)
    assert "Saved. The previous version is in the history." in response.content.decode()


def test_member_question_page_shows_new_comments_edits_and_own_vote_at_once(
    client, question, answer, asker, answerer, make_user
):
    voter = make_user(reputation=500)
    client.force_login(voter)
    assert "You forgot optimizer.zero_grad()" in _page(client, question)  # parts now cached

    services.comment_create(author=asker, target=answer, body="Tried it, still flat.")
    assert "Tried it, still flat." in _page(client, question)

    services.answer_edit(answer=answer, editor=answerer, body="Call optimizer.zero_grad() first.")
    html = _page(client, question)
    assert "Call optimizer.zero_grad() first." in html
    assert "You forgot optimizer.zero_grad()" not in html

    services.vote_cast(user=voter, target=answer, value=1)
    html = _page(client, question)
    assert 'aria-label="score 1"' in html
    assert 'aria-pressed="true" aria-label="Withdraw your upvote"' in html

    other = make_user(reputation=500)
    client.force_login(other)  # the same cached parts, this member's own (absent) vote
    html = _page(client, question)
    assert "Call optimizer.zero_grad() first." in html
    assert "Withdraw your upvote" not in html


def test_member_sees_their_own_hidden_answer_but_others_do_not(
    client, question, answer, answerer, moderator, make_user
):
    services.post_hide(moderator=moderator, target=answer)
    client.force_login(answerer)
    html = _page(client, question)
    assert "You forgot optimizer.zero_grad()" in html
    assert "Hidden by a moderator." in html
    client.force_login(make_user())
    assert "You forgot optimizer.zero_grad()" not in _page(client, question)


def test_junk_query_strings_are_not_cached_as_pages(rf):
    from django.contrib.auth.models import AnonymousUser

    from hub.forum.page_cache import SharedPage

    def shared(path, params=("sort", "page")):
        request = rf.get(path)
        request.user = AnonymousUser()
        return SharedPage(request, params=params).shared

    assert shared("/questions/?sort=top&page=2")
    assert not shared("/questions/?utm=1234")
    assert not shared("/questions/?sort=bogus")
    assert not shared("/questions/?page=abc")
    assert not shared("/questions/?sort=top&sort=active")
    assert not shared("/questions/?q=search-box-text")  # the list ignores q: no copies
    assert shared("/search/?q=vanishing", params=("q",))
    assert not shared("/search/?q=" + "x" * 201, params=("q",))


def test_anonymous_pages_are_served_from_the_cache_without_a_query(
    client, question, answer, django_assert_num_queries
):
    for url in ("/questions/", "/questions/?sort=top&page=1", question.get_absolute_url()):
        first = client.get(url).content
        with django_assert_num_queries(0):
            response = client.get(url)
        assert response.status_code == 200
        assert response.content == first


def test_question_list_shows_answers_accept_close_and_new_tags_at_once(
    client, question, asker, answerer, moderator
):
    assert "0 answers</span>" in client.get("/questions/").content.decode()  # now cached

    answer = services.answer_create(
        author=answerer, question=question, body="Check the learning rate first."
    )
    assert "1 answer</span>" in client.get("/questions/").content.decode()

    services.answer_accept(user=asker, answer=answer)
    assert "✓ 1 answer</span>" in client.get("/questions/").content.decode()

    services.question_close(moderator=moderator, question=question, reason="off-topic")
    assert (
        '<span class="state-pill closed">closed</span>'
        in client.get("/questions/").content.decode()
    )

    services.question_tags_add(question=question, tags=["nan"])
    assert 'href="/tags/nan/"' in client.get("/questions/").content.decode()

    services.post_hide(moderator=moderator, target=answer)
    assert "0 answers</span>" in client.get("/questions/").content.decode()


def test_anonymous_question_page_shows_close_reopen_tags_and_hide_at_once(
    client, question, moderator
):
    assert "Closed as" not in _page(client, question)  # now cached

    services.question_close(moderator=moderator, question=question, reason="off-topic")
    assert "Closed as off-topic" in _page(client, question)

    services.question_reopen(moderator=moderator, question=question)
    assert "Closed as" not in _page(client, question)

    services.question_tags_add(question=question, tags=["nan"])
    assert 'href="/tags/nan/"' in _page(client, question)

    services.post_hide(moderator=moderator, target=question)
    assert client.get(question.get_absolute_url()).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_page_rendered_before_a_write_commits_is_not_served_after_it(client, question, make_user):
    """A reader that renders while a vote is still uncommitted stores the old page: the commit
    must make it stale again."""
    url = question.get_absolute_url()
    voter = make_user(reputation=500)
    assert 'aria-label="score 0"' in _page(client, question)
    assert "<strong>0</strong> votes" in client.get("/questions/").content.decode()
    voted, read = threading.Event(), threading.Event()

    def vote():
        try:
            with transaction.atomic():
                services.vote_cast(user=voter, target=question, value=1)
                voted.set()
                read.wait(10)
        finally:
            connection.close()

    writer = threading.Thread(target=vote)
    writer.start()
    try:
        assert voted.wait(10)
        assert 'aria-label="score 0"' in client.get(url).content.decode()  # not committed yet
        assert "<strong>0</strong> votes" in client.get("/questions/").content.decode()
    finally:
        read.set()
        writer.join()
    assert 'aria-label="score 1"' in client.get(url).content.decode()
    assert "<strong>1</strong> vote<" in client.get("/questions/").content.decode()


def test_cached_question_page_counts_each_visitor_once(client, question):
    url = question.get_absolute_url()
    for address in ("10.77.0.1", "10.77.0.1", "10.77.0.2", "10.77.0.2", "10.77.0.1"):
        assert client.get(url, REMOTE_ADDR=address).status_code == 200
    question.refresh_from_db()
    assert question.view_count == 2


def test_deleted_posts_leave_the_cached_pages_at_once(client, question, answer, asker):
    """Deletions bypass the services (the admin, a deleted account's cascade)."""
    comment = services.comment_create(author=asker, target=answer, body="A comment to delete.")
    assert "A comment to delete." in _page(client, question)
    comment.delete()
    assert "A comment to delete." not in _page(client, question)

    answer.delete()
    assert "You forgot optimizer.zero_grad()" not in _page(client, question)

    assert question.title in client.get("/questions/").content.decode()
    question_id = question.pk
    question.delete()
    assert client.get(f"/questions/{question_id}/{question.slug}/").status_code == 404
    assert question.title not in client.get("/questions/").content.decode()


def test_staff_edits_in_the_admin_show_on_cached_pages_at_once(admin_client, client, question):
    assert question.title in _page(client, question)
    assert question.title in client.get("/questions/").content.decode()
    data = {
        "author": question.author_id,
        "title": "Edited by staff in the admin",
        "slug": question.slug,
        "body": question.body,
        "excerpt": question.excerpt,
        "tags": [tag.pk for tag in question.tags.all()],
        "close_reason": "",
        "answers-TOTAL_FORMS": "0",
        "answers-INITIAL_FORMS": "0",
        "answers-MIN_NUM_FORMS": "0",
        "answers-MAX_NUM_FORMS": "1000",
    }
    response = admin_client.post(f"/admin/forum/question/{question.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    question.refresh_from_db()  # question_edit re-slugs the new title, as the site's edit does
    assert "Edited by staff in the admin" in _page(client, question)
    assert "Edited by staff in the admin" in client.get("/questions/").content.decode()


def test_no_page_is_cached_in_a_cache_the_processes_do_not_share(client, settings, question):
    """The embedded run's local-memory cache: a worker's write would never reach the web
    process's versions, so pages are rendered every time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.get("/questions/")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/questions/").status_code == 200
    assert len(queries) > 0


def test_member_question_page_shows_new_hidden_and_deleted_question_comments_at_once(
    client, question, answer, asker, answerer, moderator, make_user
):
    """A member's page takes the question's comment list from the cache
    (views.questions._member_context)."""
    client.force_login(make_user())
    first = services.comment_create(author=answerer, target=question, body="Which optimizer?")
    assert "Which optimizer?" in _page(client, question)  # the comment list is now cached

    services.comment_create(author=asker, target=question, body="Plain SGD, lr 0.1.")
    html = _page(client, question)
    assert "Which optimizer?" in html and "Plain SGD, lr 0.1." in html

    services.post_hide(moderator=moderator, target=first)
    assert "Which optimizer?" not in _page(client, question)

    second = question.comments.get(body="Plain SGD, lr 0.1.")
    second.delete()  # bypasses the services (the admin, a deleted account's cascade)
    assert "Plain SGD, lr 0.1." not in _page(client, question)


def test_member_answer_controls_match_each_answers_own_state(
    client, question, answer, asker, answerer, make_user
):
    """answer_posts renders the controls once per state and fills in each answer's values."""
    voter = make_user(reputation=500)
    second = services.answer_create(author=voter, question=question, body="Lower the lr.")
    third = services.answer_create(author=asker, question=question, body="Solved it myself.")
    services.vote_cast(user=voter, target=answer, value=1)
    services.vote_cast(user=voter, target=third, value=-1)
    client.force_login(voter)
    html = _page(client, question)
    for post in (answer, second, third):
        assert f'id="answer-{post.pk}"' in html
        assert f"/answers/{post.pk}/revisions/" in html
        assert f'action="/answers/{post.pk}/comment/"' in html
    assert html.count('action="/answers/') == 3 + 2  # comment forms, votes on two answers
    assert f'action="/answers/{answer.pk}/vote/"' in html
    assert f'action="/answers/{second.pk}/vote/"' not in html  # own answer
    assert f'href="/answers/{second.pk}/edit/"' in html
    assert f'href="/answers/{answer.pk}/edit/"' not in html
    upvoted = html.split(f'id="vote-answers-{answer.pk}"', 1)[1].split("</div>", 1)[0]
    assert 'aria-pressed="true" aria-label="Withdraw your upvote"' in upvoted
    downvoted = html.split(f'id="vote-answers-{third.pk}"', 1)[1].split("</div>", 1)[0]
    assert 'aria-pressed="true" aria-label="Withdraw your downvote"' in downvoted
    assert 'aria-label="score -1"' in downvoted
    assert "ZZGRADHUB" not in html


def test_member_question_list_shows_new_voted_hidden_and_deleted_questions_at_once(
    client, question, make_question, make_user, moderator
):
    """A member's list is rendered for them, or shared when their browser takes the layer; a
    moderator's (hidden questions included) is never shared with members."""
    client.force_login(make_user())
    assert question.title in client.get("/questions/").content.decode()  # now cached

    second = make_question(title="A second question arrives later")
    html = client.get("/questions/").content.decode()
    assert "A second question arrives later" in html and "2 questions" in html

    services.vote_cast(user=make_user(reputation=500), target=question, value=1)
    assert "<strong>1</strong> vote" in client.get("/questions/").content.decode()

    services.post_hide(moderator=moderator, target=second)
    assert "A second question arrives later" not in client.get("/questions/").content.decode()
    client.force_login(moderator)
    assert "A second question arrives later" in client.get("/questions/").content.decode()
    client.force_login(make_user())
    assert "A second question arrives later" not in client.get("/questions/").content.decode()

    question.delete()  # bypasses the services
    assert question.title not in client.get("/questions/").content.decode()
    assert "?sort=top" in client.get("/questions/?sort=active").content.decode()


@pytest.fixture
def layered_member(client, make_user):
    """A member whose browser runs forum.js: shared pages, and the layer on top."""
    member = make_user(reputation=500)
    client.force_login(member)
    client.cookies["gh_js"] = "1"
    client.get("/questions/")  # the site sets the gh_member hint
    assert client.cookies["gh_member"].value == "1"
    return member


def _layer(client, question) -> str:
    """The layer with its pieces per answer made as forum.js makes them (data-each)."""
    response = client.get(f"/me/layer/questions/{question.pk}/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    return _each_expanded(response.content.decode())


def _each_expanded(layer: str) -> str:
    start = re.search(r'<template data-each="([^"]*)">', layer)
    if start is None:
        return layer
    depth, end = 1, start.end()
    for tag in re.finditer(r"<(/?)template\b", layer[start.end() :]):
        depth += -1 if tag[1] else 1
        if depth == 0:
            end = start.end() + tag.start()
            break
    markup = layer[start.end() : end]
    pairs = [row.split(":") for row in start[1].split()]
    pieces = "".join(markup.replace("{id}", pk).replace("{score}", s) for pk, s in pairs)
    return layer[: start.start()] + pieces + layer[end + len("</template>") :]


def test_layered_member_sees_every_write_at_once_on_the_page_and_in_the_layer(
    client, layered_member, question, answer, answerer, asker, moderator
):
    page = _page(client, question)
    assert "Log out" not in page and "csrfmiddlewaretoken" not in page  # the shared page
    assert f'id="vote-answers-{answer.pk}"' in _layer(client, question)

    fresh = services.answer_create(
        author=answerer, question=question, body="Also check the learning rate schedule."
    )
    assert "Also check the learning rate schedule." in _page(client, question)
    assert f"#answer-{fresh.pk} > .post-body" in _layer(client, question)  # its comment form

    services.vote_cast(user=layered_member, target=fresh, value=1)
    assert 'aria-label="score 1"' in _page(client, question)
    layer = _layer(client, question)
    assert 'aria-label="Withdraw your upvote"' in layer

    own = services.answer_create(
        author=layered_member, question=question, body="My own answer, soon hidden."
    )
    assert "My own answer, soon hidden." in _page(client, question)
    services.post_hide(moderator=moderator, target=own)
    assert "My own answer, soon hidden." not in _page(client, question)  # hidden from readers
    assert "My own answer, soon hidden." in _layer(client, question)  # not from its author

    services.comment_create(author=asker, target=fresh, body="That was it, thank you!")
    assert "That was it, thank you!" in _page(client, question)


def test_layered_member_list_shows_new_and_hidden_questions_at_once(
    client, layered_member, make_question, moderator
):
    second = make_question(title="A second question arrives later")
    html = client.get("/questions/").content.decode()
    assert "A second question arrives later" in html and "Log out" not in html
    services.post_hide(moderator=moderator, target=second)
    assert "A second question arrives later" not in client.get("/questions/").content.decode()
    layer = client.get("/me/layer/").content.decode()
    assert f"/users/{layered_member.username}/" in layer and "Log out" in layer


def test_layer_asks_a_moderator_to_reload_and_tells_a_visitor_nothing(client, moderator):
    client.force_login(moderator)
    client.cookies["gh_js"] = "1"
    response = client.get("/me/layer/")
    assert "data-reload" in response.content.decode()
    assert response.cookies["gh_member"].value == "moderator"  # no shared pages from now on
    client.logout()
    client.cookies["gh_member"] = "1"  # stale
    response = client.get("/me/layer/")
    assert "<template" not in response.content.decode()
    assert response.cookies["gh_member"].value == ""  # deleted


def test_the_layer_reads_the_members_state_in_five_queries_then_none(
    client, layered_member, question, answer, django_assert_num_queries
):
    """A layer rendered for the member is kept for them: the next one, with nothing changed,
    comes from the cache (the session from Redis too) without a query."""
    from hub.accounts.member_version import member_version_bump
    from hub.notifications.services import question_follow

    services.vote_cast(user=layered_member, target=question, value=1)
    services.vote_cast(user=layered_member, target=answer, value=-1)
    question_follow(user=layered_member, question=question)
    _layer(client, question)  # counts the view once
    member_version_bump(user_id=layered_member.pk)
    # user, moderator?, the unread count, the question with their vote and follow state,
    # their own and voted answers with their votes (the session comes from the cache)
    with django_assert_num_queries(5):
        rendered = _layer(client, question)
    with django_assert_num_queries(0):
        kept = _layer(client, question)
    for layer in (rendered, kept):
        question_vote = layer.split(f'id="vote-questions-{question.pk}"')[1]
        assert 'aria-label="Withdraw your upvote"' in question_vote.split("</template>")[0]
        answer_vote = layer.split(f'id="vote-answers-{answer.pk}"')[-1].split("</template>")[0]
        assert 'aria-label="Withdraw your downvote"' in answer_vote
        assert "Following ✓" in layer
        assert f"/users/{layered_member.username}/" in layer
        # no token: forum.js takes the one in the cookie, which the layer's view has set
        assert client.cookies["csrftoken"].value not in layer
        assert 'name="csrfmiddlewaretoken" value="' not in layer.replace('value=""', "")


def test_kept_layer_shows_follows_and_notifications_at_once(
    client, layered_member, question, answerer
):
    """What changes the member's own state and no page: following, a notification arriving,
    reading it."""
    from hub.notifications import services as notifications

    assert "Follow</button>" in _layer(client, question)
    assert "Follow</button>" in _layer(client, question)  # kept
    notifications.question_follow(user=layered_member, question=question)
    assert "Following ✓" in _layer(client, question)
    notifications.question_unfollow(user=layered_member, question=question)
    assert "Follow</button>" in _layer(client, question)

    assert 'aria-label="1 unread"' not in client.get("/me/layer/").content.decode()
    note = notifications.notify(
        recipient=layered_member, actor=answerer, verb="mentioned", text="Look", url="/x/"
    )
    assert 'aria-label="1 unread"' in client.get("/me/layer/").content.decode()
    assert 'aria-label="1 unread"' in _layer(client, question)
    notifications.notification_mark_read(user=layered_member, notification_id=note.pk)
    assert 'aria-label="1 unread"' not in _layer(client, question)
    notifications.notify(
        recipient=layered_member, actor=answerer, verb="mentioned", text="Again", url="/y/"
    )
    assert 'aria-label="1 unread"' in client.get("/me/layer/").content.decode()
    notifications.notifications_mark_all_read(user=layered_member)
    assert 'aria-label="1 unread"' not in client.get("/me/layer/").content.decode()


def test_kept_layer_ends_with_the_session_a_password_change_or_a_moderators_role(
    client, layered_member, question, make_user
):
    from django.contrib.auth.models import Group

    from hub.accounts.selectors import MODERATORS_GROUP

    assert "Log out" in _layer(client, question)
    assert "Log out" in _layer(client, question)  # kept

    Group.objects.get_or_create(name=MODERATORS_GROUP)[0].user_set.add(layered_member)
    assert "data-reload" in _layer(client, question)  # their page is rendered for them now
    layered_member.groups.clear()
    client.cookies["gh_member"] = "1"
    assert "Log out" in _layer(client, question)

    layered_member.set_password("a new password, elsewhere")
    layered_member.save()
    layer = _layer(client, question)
    assert "Log out" not in layer and "<template" not in layer  # that session has ended

    client.force_login(layered_member)
    client.cookies["gh_member"] = "1"
    assert "Log out" in _layer(client, question)
    assert "Log out" in _layer(client, question)  # kept
    client.logout()
    client.cookies["gh_member"] = "1"  # a stale hint
    assert "<template" not in _layer(client, question)


def _inline_layer(response) -> str:
    """The layer a member's shared page brings (forum.js applies it), or "" when it brings
    none (then forum.js asks /me/layer/ for it)."""
    html = response.content.decode()
    shared, _, layer = html.partition('<template id="member-layer">')
    assert "Log out" not in shared and "csrfmiddlewaretoken" not in shared
    return _each_expanded(layer.rpartition("</template>\n</body>")[0])


def test_a_members_shared_page_brings_their_kept_layer_and_never_a_stale_one(
    client, layered_member, question, answer, answerer
):
    from hub.notifications import services as notifications

    url = question.get_absolute_url()
    client.get(url)  # the shared page, now cached
    assert _inline_layer(client.get(url)) == ""  # nothing kept for the member yet
    kept = _layer(client, question)
    response = client.get(url)
    assert response["Cache-Control"] == "private"  # their own parts are in it
    assert response["Vary"] == "Cookie"
    layer = _inline_layer(response)
    assert layer == kept  # as its request brings it
    assert f"/users/{layered_member.username}/" in layer and "Log out" in layer
    assert 'name="csrfmiddlewaretoken" value="' not in layer.replace('value=""', "")

    services.vote_cast(user=layered_member, target=answer, value=1)  # the page's version
    assert _inline_layer(client.get(url)) == ""
    assert "Withdraw your upvote" in _layer(client, question)
    assert "Withdraw your upvote" in _inline_layer(client.get(url))

    notifications.notify(  # the member's version
        recipient=layered_member, actor=answerer, verb="mentioned", text="Look", url="/x/"
    )
    assert _inline_layer(client.get(url)) == ""
    assert 'aria-label="1 unread"' in _layer(client, question)
    assert 'aria-label="1 unread"' in _inline_layer(client.get(url))
    client.get("/questions/")  # the list as it is now, cached
    assert 'aria-label="1 unread"' in _inline_layer(client.get("/questions/"))  # their header

    client.cookies["sessionid"] = "x" * 32  # a session that is not theirs (ended)
    assert _inline_layer(client.get(url)) == ""
