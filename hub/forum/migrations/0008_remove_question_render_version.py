"""The question's render_version goes: pages are versioned in the cache alone
(hub.forum.page_cache), one scheme instead of two."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("forum", "0007_search_text_and_words")]

    operations = [migrations.RemoveField(model_name="question", name="render_version")]
