from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from integrations import crypto
from integrations.models import Connection


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored integration token under the first key of FIELD_ENCRYPTION_KEY. "
        "Rotation: prepend a new key (NEW,OLD), restart, run this, then drop OLD."
    )

    def handle(self, *args, **options):
        if not crypto.encryption_configured():
            raise CommandError("FIELD_ENCRYPTION_KEY is not set")
        count = 0
        try:
            with transaction.atomic():
                for connection in Connection.objects.select_for_update().order_by("pk"):
                    connection.access_token_encrypted = crypto.reencrypt(
                        connection.access_token_encrypted
                    )
                    connection.refresh_token_encrypted = crypto.reencrypt(
                        connection.refresh_token_encrypted
                    )
                    connection.save(
                        update_fields=["access_token_encrypted", "refresh_token_encrypted"]
                    )
                    count += 1
        except Exception as exc:  # InvalidToken: a key that opened these tokens was dropped
            raise CommandError(f"nothing re-encrypted: {exc.__class__.__name__}") from exc
        self.stdout.write(f"re-encrypted the tokens of {count} connection(s)")
