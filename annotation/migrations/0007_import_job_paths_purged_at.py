from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("annotation", "0006_job_send_failed_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="importjob",
            name="paths_purged_at",
            field=models.DateTimeField(
                blank=True,
                help_text=(
                    "When the file paths (which may name patients) left the report and paths."
                ),
                null=True,
            ),
        ),
    ]
