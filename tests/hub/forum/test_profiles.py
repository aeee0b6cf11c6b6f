from hub.accounts.models import Profile
from hub.forum import selectors, services


def _badges(user):
    fresh = selectors.user_get_by_username(username=user.username)
    return {badge.name for badge in selectors.user_profile_page(user=fresh).badges}


def test_badges_follow_milestones(question, answer, asker, answerer, make_user):
    assert "Student" in _badges(asker) and "Teacher" not in _badges(asker)
    assert {"Teacher"} <= _badges(answerer) and "Scholar" not in _badges(answerer)
    services.answer_accept(user=asker, answer=answer)
    assert "Scholar" in _badges(answerer)
    voters = [make_user(reputation=200) for _ in range(selectors.BADGE_NICE_ANSWER_SCORE)]
    for voter in voters:
        services.vote_cast(user=voter, target=answer, value=1)
    assert {"Nice answer", "Contributor"} <= _badges(answerer)
    assert "Trusted" not in _badges(answerer)
    Profile.objects.filter(user=answerer).update(reputation=1000)
    assert "Trusted" in _badges(answerer)


def test_profile_page_shows_stats_and_tokens_section_only_to_owner(client, question, asker):
    page = client.get(f"/users/{asker.username}/").content.decode()
    assert question.title in page and "Your account" not in page
    client.force_login(asker)
    assert "Your account" in client.get(f"/users/{asker.username}/").content.decode()
