from django.core.management import call_command

from hub.forum.models import Answer, Comment, Question, Tag, Vote


def test_seed_demo_builds_a_community_once(db):
    call_command("seed_demo", verbosity=0)
    counts = (Question.objects.count(), Answer.objects.count(), Comment.objects.count())
    assert counts[0] >= 25 and counts[1] >= 25 and counts[2] >= 10
    assert Question.objects.exclude(accepted_answer=None).count() >= 10
    assert Question.objects.filter(answer_count=0).exists()  # something left to answer
    assert Vote.objects.count() > 50
    assert Tag.objects.exclude(description="").count() >= 20
    assert Question.objects.filter(body_html__contains='class="codehilite"').exists()
    assert Question.objects.filter(search_vector__isnull=False).count() == counts[0]
    call_command("seed_demo", verbosity=0)  # idempotent
    assert (Question.objects.count(), Answer.objects.count(), Comment.objects.count()) == counts
