"""Every existing organization gets the default dunning policy (new ones get it on creation)."""

from __future__ import annotations

from django.db import migrations

from reminders.defaults import DEFAULT_POLICY_NAME, DEFAULT_STEPS


def create_default_policies(apps, schema_editor) -> None:
    Organization = apps.get_model("tenancy", "Organization")
    DunningPolicy = apps.get_model("reminders", "DunningPolicy")
    DunningStep = apps.get_model("reminders", "DunningStep")
    for organization in Organization.objects.all():
        if DunningPolicy.objects.filter(organization=organization, customer=None).exists():
            continue
        policy = DunningPolicy.objects.create(organization=organization, name=DEFAULT_POLICY_NAME)
        DunningStep.objects.bulk_create(DunningStep(policy=policy, **step) for step in DEFAULT_STEPS)


class Migration(migrations.Migration):
    dependencies = [("reminders", "0001_dunning"), ("tenancy", "0001_initial")]

    operations = [migrations.RunPython(create_default_policies, migrations.RunPython.noop)]
