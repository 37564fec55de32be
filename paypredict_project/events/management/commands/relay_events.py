from __future__ import annotations

import signal

from django.core.management.base import BaseCommand

from paypredict_project.events.relay import BATCH_SIZE, relay_publish_batch, relay_run


class Command(BaseCommand):
    help = (
        "Publish committed domain events from the outbox to Redis Streams (one stream per "
        "organization), in order, at least once. Runs until SIGTERM/Ctrl-C; --once drains "
        "what is waiting and exits."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="publish what waits, then exit")
        parser.add_argument("--idle-sleep", type=float, default=0.2, help="seconds between polls")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="rows per batch")

    def handle(self, *args, once: bool, idle_sleep: float, batch_size: int, **options):
        if once:
            total, verify = 0, True
            while count := relay_publish_batch(verify=verify, batch_size=batch_size):
                total, verify = total + count, False
            self.stdout.write(f"published {total} events")
            return
        stopping = []

        def stop(signum, frame):
            stopping.append(signum)

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        total = relay_run(
            should_stop=lambda: bool(stopping), idle_sleep=idle_sleep, batch_size=batch_size
        )
        self.stdout.write(f"relay stopped after publishing {total} events")
