"""`manage.py seed_demo`: a small, living community for local runs and demos.

Idempotent: does nothing when the demo people already exist (make run calls it on every start).
Everything is written through the services, so rendering, search vectors, reputation and
notifications are exactly what real use produces; only timestamps and view counts are then
spread over the past weeks so the lists look lived-in. Demo accounts cannot log in unless
--password is given.
"""

import random
from datetime import timedelta
from pathlib import Path

import yaml
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from hub.accounts.models import Profile
from hub.accounts.services import profile_get, user_create
from hub.forum import services
from hub.forum.models import Answer, Comment, Tag

User = get_user_model()
DATA_FILE = Path(__file__).resolve().parents[2] / "demo" / "community.yaml"
DEMO_EMAIL_DOMAIN = "demo.gradhub.local"
REP_TO_DOWNVOTE = services.REP_TO_DOWNVOTE


class Command(BaseCommand):
    help = "Create the demo community (people, tags, questions, answers, votes); idempotent."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default="",
            help="give every demo account this password (default: they cannot log in)",
        )

    def handle(self, *args, password: str, verbosity: int = 1, **options):
        data = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
        first = data["users"][0]["username"]
        if User.objects.filter(username=first).exists():
            if verbosity:
                self.stdout.write("Demo community already present: nothing to do.")
            return
        rng = random.Random(20240611)  # the same community on every machine
        with transaction.atomic(), services.limits_bypassed():
            people = self._people(data["users"], password)
            self._tags(data["tags"])
            now = timezone.now()
            for spec in sorted(data["questions"], key=lambda q: -q["days_ago"]):
                self._thread(spec, people, rng, now)
        if verbosity:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo community: {len(people)} people, {len(data['questions'])} questions."
                )
            )

    def _people(self, specs, password: str) -> dict:
        people = {}
        for spec in specs:
            email = f"{spec['username'].replace('_', '-')}@{DEMO_EMAIL_DOMAIN}"
            if password:
                user = user_create(username=spec["username"], email=email, password=password)
            else:  # no login possible, and no slow password hashing
                user = User.objects.create_user(username=spec["username"], email=email)
                profile_get(user=user)
            Profile.objects.filter(user=user).update(
                reputation=spec["reputation"], bio=spec.get("bio", "")
            )
            user.profile.refresh_from_db()
            people[spec["username"]] = user
        return people

    def _tags(self, specs) -> None:
        for spec in specs:
            tag, created = Tag.objects.get_or_create(
                name=spec["name"], defaults={"description": spec["description"]}
            )
            if not created and not tag.description:
                tag.description = spec["description"]
                tag.save(update_fields=["description"])

    def _votes(self, *, target, author, net: int, people: dict, rng) -> None:
        voters = [u for u in people.values() if u.pk != author.pk]
        if net < 0:
            voters = [u for u in voters if u.profile.reputation >= REP_TO_DOWNVOTE]
        rng.shuffle(voters)
        for voter in voters[: abs(net)]:
            services.vote_cast(user=voter, target=target, value=1 if net > 0 else -1)

    def _thread(self, spec, people, rng, now) -> None:
        asker = people[spec["author"]]
        asked_at = now - timedelta(days=spec["days_ago"], hours=rng.randint(1, 20))
        question = services.question_create(
            author=asker, title=spec["title"], body=spec["body"], tags=spec["tags"]
        )
        moment = asked_at
        for comment in spec.get("comments", []):
            made = services.comment_create(
                author=people[comment["author"]], target=question, body=comment["body"]
            )
            moment += timedelta(minutes=rng.randint(10, 200))
            Comment.objects.filter(pk=made.pk).update(created_at=moment)
        for answer_spec in spec.get("answers", []):
            answer = services.answer_create(
                author=people[answer_spec["author"]], question=question, body=answer_spec["body"]
            )
            moment += timedelta(minutes=rng.randint(20, 600))
            Answer.objects.filter(pk=answer.pk).update(created_at=moment, updated_at=moment)
            for comment in answer_spec.get("comments", []):
                made = services.comment_create(
                    author=people[comment["author"]], target=answer, body=comment["body"]
                )
                moment += timedelta(minutes=rng.randint(5, 300))
                Comment.objects.filter(pk=made.pk).update(created_at=moment)
            self._votes(
                target=answer,
                author=answer.author,
                net=answer_spec.get("votes", 0),
                people=people,
                rng=rng,
            )
            if answer_spec.get("accepted"):
                services.answer_accept(user=asker, answer=answer)
        self._votes(target=question, author=asker, net=spec.get("votes", 0), people=people, rng=rng)
        services.question_render_bump(  # its rows and pages show these
            question_id=question.pk,
            created_at=asked_at,
            updated_at=moment,
            last_activity_at=min(moment, now),
            view_count=spec.get("views", 0),
        )
