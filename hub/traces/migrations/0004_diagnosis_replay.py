from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("traces", "0003_trace_rank_files"),
    ]

    operations = [
        migrations.AddField(
            model_name="diagnosis",
            name="replay",
            field=models.JSONField(default=dict),
        ),
        # Diagnoses made before replays existed are not waiting for one.
        migrations.AddField(
            model_name="diagnosis",
            name="replay_done",
            field=models.BooleanField(default=True),
        ),
        migrations.AlterField(
            model_name="diagnosis",
            name="replay_done",
            field=models.BooleanField(default=False),
        ),
    ]
