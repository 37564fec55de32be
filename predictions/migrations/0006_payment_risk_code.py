import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("predictions", "0005_bi_views")]

    operations = [
        # Every existing row gets its own UUID (a Python default would give them all one).
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    'ALTER TABLE "predictions_paymentrisk" ADD COLUMN "code" uuid NOT NULL '
                    "DEFAULT gen_random_uuid() UNIQUE; "
                    'ALTER TABLE "predictions_paymentrisk" ALTER COLUMN "code" DROP DEFAULT;',
                    reverse_sql='ALTER TABLE "predictions_paymentrisk" DROP COLUMN "code";',
                )
            ],
            state_operations=[
                migrations.AddField(
                    model_name="paymentrisk",
                    name="code",
                    field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
                )
            ],
        )
    ]
