"""Tag names may hold '.', '+' and '#'; their URLs use a slug that never does."""

import importlib

import pytest
from django.apps import apps
from django.core.management import call_command

from hub.forum import services
from hub.forum.models import Tag
from hub.forum.tag_slugs import tag_slug

fill_slugs = importlib.import_module("hub.forum.migrations.0005_tag_slug").tag_slugs_fill

ODD_TAGS = ["node.js", "c++", "c#"]


@pytest.fixture
def odd_question(make_question):
    return make_question(title="Calling a model from node.js, c++ and c#", tags=ODD_TAGS)


def test_a_slug_safe_name_is_its_own_slug():
    assert tag_slug("vanishing-gradients", taken=set()) == "vanishing-gradients"
    assert tag_slug("lstm2", taken=set()) == "lstm2"


def test_punctuation_becomes_words_so_c_plus_plus_and_c_sharp_stay_apart():
    assert tag_slug("c++", taken=set()) == "c-plus-plus"
    assert tag_slug("c#", taken=set()) == "c-sharp"
    assert tag_slug("node.js", taken=set()) == "node-dot-js"
    assert tag_slug("torch.nn.functional", taken=set()) == "torch-dot-nn-dot-functional"


def test_a_taken_slug_gets_the_first_free_number():
    assert tag_slug("c++", taken={"c-plus-plus"}) == "c-plus-plus-2"
    assert tag_slug("c++", taken={"c-plus-plus", "c-plus-plus-2"}) == "c-plus-plus-3"


def test_a_long_name_gets_a_slug_within_the_field():
    name = "a" + "+" * 34
    slug = tag_slug(name, taken=set())
    assert len(slug) <= Tag._meta.get_field("slug").max_length
    assert len(tag_slug(name, taken={slug})) <= Tag._meta.get_field("slug").max_length


def test_tags_made_anywhere_get_distinct_slugs(asker):
    made = Tag.objects.create(name="c-plus-plus")
    services.question_create(
        author=asker, title="Binding a model from c++", body="x" * 40, tags=["c++"]
    )
    assert made.slug == "c-plus-plus"
    assert Tag.objects.get(name="c++").slug == "c-plus-plus-2"


def test_the_migration_gives_existing_slug_safe_names_their_own_name_first(db):
    tags = [Tag.objects.create(name=name) for name in ("c++", "c#", "c-plus-plus", "node.js")]
    for tag in tags:
        Tag.objects.filter(pk=tag.pk).update(slug=f"before-{tag.pk}")
    fill_slugs(apps, None)
    slugs = dict(Tag.objects.values_list("name", "slug"))
    assert slugs["c-plus-plus"] == "c-plus-plus"  # its old URL keeps working
    assert slugs["c++"] == "c-plus-plus-2"
    assert slugs["c#"] == "c-sharp"
    assert slugs["node.js"] == "node-dot-js"


@pytest.mark.django_db
def test_the_forum_models_match_their_migrations():
    call_command("makemigrations", "forum", "--check", "--dry-run", verbosity=0)


def test_a_tag_with_a_dot_plus_or_hash_never_breaks_a_list_page(client, odd_question):
    pages = [
        "/tags/",
        "/tags/?sort=name",
        "/questions/",
        odd_question.get_absolute_url(),
        "/search/?q=model",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        for slug in ("node-dot-js", "c-plus-plus", "c-sharp"):
            assert f'href="/tags/{slug}/"' in body, (url, slug)


def test_a_tag_page_is_found_by_its_slug(client, odd_question):
    for name in ODD_TAGS:
        tag = Tag.objects.get(name=name)
        response = client.get(f"/tags/{tag.slug}/")
        assert response.status_code == 200
        assert odd_question.title in response.content.decode()
    heading = 'Questions tagged <span class="tag">{}</span>'
    assert heading.format("c++") in client.get("/tags/c-plus-plus/").content.decode()
    assert heading.format("c#") in client.get("/tags/c-sharp/").content.decode()


def test_the_old_url_of_a_slug_safe_tag_keeps_working(client, make_question):
    question = make_question(tags=["vanishing-gradients"])
    response = client.get("/tags/vanishing-gradients/")
    assert response.status_code == 200
    assert question.title in response.content.decode()


def _revision_sections(client, question) -> list[str]:
    html = client.get(f"/questions/{question.pk}/revisions/").content.decode()
    return html.split('<section class="card revision"')[1:]


def test_the_diagnosis_auto_tag_is_the_bots_revision_not_the_askers(client, question, asker):
    services.question_tags_add(question=question, tags=["vanishing-gradients"])
    tags_now = list(question.tags.values_list("name", flat=True))
    services.question_edit(
        question=question, editor=asker, title=question.title, body="Now with a clearer body.",
        tags=tags_now,
    )  # fmt: skip
    original, tagged, edited = _revision_sections(client, question)
    assert "gradient-doctor" in tagged and asker.username not in tagged
    assert "<ins>pytorch vanishing-gradients</ins>" in tagged
    assert asker.username in edited and "Tags:" not in edited
