from __future__ import annotations

from django.core.management.base import BaseCommand

from paypredict_project.beat import beat_schedule_sync


class Command(BaseCommand):
    help = "Create missing periodic jobs from BEAT_SCHEDULE; existing ones (admin edits) are kept."

    def handle(self, *args, **options) -> None:
        result = beat_schedule_sync()
        self.stdout.write(
            f"created {len(result['created'])}: {', '.join(result['created']) or '-'}; "
            f"kept {len(result['kept'])}: {', '.join(result['kept']) or '-'}"
        )
