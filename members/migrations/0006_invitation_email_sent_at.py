from django.db import migrations, models
from django.db.models import F


def mark_existing_as_sent(apps, schema_editor):
    """Invitations made before the email was tracked are taken as emailed: beat's sweep must not send them again."""
    Invitation = apps.get_model("members", "Invitation")
    Invitation.objects.filter(email_sent_at__isnull=True).update(email_sent_at=F("created_at"))


class Migration(migrations.Migration):

    dependencies = [
        ("members", "0005_consent_and_token_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="invitation",
            name="email_sent_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(mark_existing_as_sent, migrations.RunPython.noop),
    ]
