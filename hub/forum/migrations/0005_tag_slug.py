"""Tags get a slug for their URLs apart from their display name (node.js, c++ and c# broke
reverse() on every list showing them). Slug-safe names keep their name as slug, so their
old /tags/<name>/ URLs keep working; the others follow hub.forum.tag_slugs."""

from django.db import migrations, models

from hub.forum.tag_slugs import SLUG_SAFE_RE, tag_slug


def tag_slugs_fill(apps, schema_editor):
    Tag = apps.get_model("forum", "Tag")
    tags = sorted(Tag.objects.all(), key=lambda t: (not SLUG_SAFE_RE.fullmatch(t.name), t.pk))
    taken: set[str] = set()
    for tag in tags:
        tag.slug = tag_slug(tag.name, taken=taken)
        taken.add(tag.slug)
    Tag.objects.bulk_update(tags, ["slug"], batch_size=500)


class Migration(migrations.Migration):
    dependencies = [
        ("forum", "0004_question_visible_index"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tag",
            name="name",
            field=models.CharField(max_length=35, unique=True),
        ),
        migrations.AddField(
            model_name="tag",
            name="slug",
            field=models.SlugField(db_index=False, editable=False, max_length=60, null=True),
        ),
        migrations.RunPython(tag_slugs_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="tag",
            name="slug",
            field=models.SlugField(editable=False, max_length=60, unique=True),
        ),
        migrations.AddConstraint(
            model_name="tag",
            constraint=models.CheckConstraint(
                condition=models.Q(("slug", ""), _negated=True), name="forum_tag_slug_not_empty"
            ),
        ),
    ]
