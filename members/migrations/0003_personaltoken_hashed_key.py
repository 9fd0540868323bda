import hashlib

from django.db import migrations, models


def hash_existing_keys(apps, schema_editor):
    PersonalToken = apps.get_model("members", "PersonalToken")
    for token in PersonalToken.objects.all():
        token.prefix = token.key_hash[:8]
        token.key_hash = hashlib.sha256(token.key_hash.encode()).hexdigest()
        token.save(update_fields=["prefix", "key_hash"])


class Migration(migrations.Migration):
    """Store a SHA-256 digest of each API token instead of the token itself.

    The data step has no inverse (a digest cannot give the key back), so going backwards is a
    no-op for the data: after unapplying, the old `key` column holds digests and every existing
    token stops working; people create new tokens.
    """

    dependencies = [
        ("members", "0002_collective_timezone_validator"),
    ]

    operations = [
        migrations.RenameField(model_name="personaltoken", old_name="key", new_name="key_hash"),
        migrations.AlterField(
            model_name="personaltoken",
            name="key_hash",
            field=models.CharField(editable=False, max_length=64, unique=True),
        ),
        migrations.AddField(
            model_name="personaltoken",
            name="prefix",
            field=models.CharField(default="", editable=False, max_length=8, verbose_name="prefix"),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing_keys, migrations.RunPython.noop),
    ]
