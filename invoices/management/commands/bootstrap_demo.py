from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError, CommandParser

from invoices.models import Invoice
from invoices.services.demo import demo_seed
from paypredict_project.audit import acting_as
from paypredict_project.tenancy.models import Organization, Role
from paypredict_project.tenancy.services import membership_create, organization_create

DEMO_ORG = {
    "slug": "demo",
    "name": "Demo Manufacturing Co",
    "base_currency": "USD",
    "time_zone": "America/New_York",
}
DEMO_PASSWORD = "demo-password"
DEMO_MEMBERS = (
    ("demo@paypredict.local", Role.ADMIN),
    ("collector@paypredict.local", Role.COLLECTOR),
    ("viewer@paypredict.local", Role.VIEWER),
)
DEMO_SIZE = {"customers": 300, "invoices": 30_000, "seed": 42}
# Commands other apps provide; each runs for the demo org after a fresh seed when present.
AFTER_SEED_HOOKS = ("train_payment_model", "score_invoices", "train_payment_risk")
# Idempotent commands of other apps run on every start (e.g. today's reminders are drafted).
EVERY_RUN_HOOKS = ("plan_reminders", "schedule_demo_reports")


class Command(BaseCommand):
    help = (
        "Create the demo organization, its three logins and its demo data if missing. "
        "Idempotent: `make run` calls it on every start."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=DEMO_SIZE["customers"])
        parser.add_argument("--invoices", type=int, default=DEMO_SIZE["invoices"])
        parser.add_argument("--seed", type=int, default=DEMO_SIZE["seed"])
        parser.add_argument(
            "--train",
            action="store_true",
            help="run the model hooks even when the demo data already existed",
        )
        parser.add_argument(
            "--skip-models",
            action="store_true",
            help=f"do not run {' / '.join(AFTER_SEED_HOOKS)} after seeding",
        )

    def handle(self, *args, **options) -> None:
        with acting_as(label="bootstrap_demo"):
            organization = self._organization()
            demo_logins = settings.EMBEDDED_DATABASE
            if demo_logins:
                self._members(organization)
            seeded = self._seed(
                organization,
                customers=options["customers"],
                invoices=options["invoices"],
                seed=options["seed"],
            )
        if (seeded or options["train"]) and not options["skip_models"]:
            self._run_hooks(organization, AFTER_SEED_HOOKS)
        self._run_hooks(organization, EVERY_RUN_HOOKS)
        if not demo_logins:
            self.stdout.write(
                "No demo logins: they are created only on the embedded database (DATABASE_URL "
                "unset). Add your own: manage.py create_member --org demo --email you@example.com "
                "--role admin --password '...'"
            )
            return
        self.stdout.write(
            f"Demo login: {DEMO_MEMBERS[0][0]} / {DEMO_PASSWORD} (admin); "
            f"also {DEMO_MEMBERS[1][0]} (collector) and {DEMO_MEMBERS[2][0]} (viewer), "
            "same password"
        )
        if not settings.DEBUG:
            self.stderr.write(
                "WARNING: DEBUG is off but the demo logins with the published password "
                f"{DEMO_PASSWORD!r} exist: anyone who can reach this server can log in as an "
                "admin. Keep it on your own machine (127.0.0.1), or change their passwords."
            )

    def _organization(self) -> Organization:
        existing = Organization.objects.filter(slug=DEMO_ORG["slug"]).first()
        if existing:
            return existing
        organization = organization_create(**DEMO_ORG)
        self.stdout.write(f"created organization {organization.slug} ({organization.name})")
        return organization

    def _members(self, organization: Organization) -> None:
        users = get_user_model().objects
        for email, role in DEMO_MEMBERS:
            if organization.memberships.filter(user__username=email).exists():
                continue
            # Only a brand-new user gets the demo password; a changed password is kept.
            new_user = not users.filter(username=email).exists()
            membership_create(
                organization=organization,
                email=email,
                role=role,
                password=DEMO_PASSWORD if new_user else None,
            )
            self.stdout.write(f"added {email} as {role}")

    def _seed(self, organization: Organization, **size: int) -> bool:
        if Invoice.objects.filter(organization=organization).exists():
            self.stdout.write(f"{organization.slug} already has invoices; not seeding")
            return False
        try:
            result = demo_seed(organization=organization, **size)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        counts = ", ".join(f"{n:,} {name.replace('_', ' ')}" for name, n in result.counts.items())
        self.stdout.write(f"seeded {organization.slug}: {counts} in {result.seconds:.1f}s")
        return True

    def _run_hooks(self, organization: Organization, names: tuple[str, ...]) -> None:
        available = get_commands()
        for name in names:
            if name not in available:
                continue
            self.stdout.write(f"running {name} --org {organization.slug}")
            try:
                call_command(name, org=organization.slug, stdout=self.stdout, stderr=self.stderr)
            except Exception as exc:  # a failed hook must not stop `make run` from serving
                self.stderr.write(f"WARNING: {name} failed: {exc}")
