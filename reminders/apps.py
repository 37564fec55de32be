from __future__ import annotations

from django.apps import AppConfig
from django.db.models.signals import post_save


class RemindersConfig(AppConfig):
    name = "reminders"

    def ready(self) -> None:
        from paypredict_project.tenancy.models import Organization

        # Every organization has the default dunning policy from the moment it exists.
        post_save.connect(
            _organization_saved, sender=Organization, dispatch_uid="reminders.default_policy"
        )
        from reminders import webhooks
        from reminders.page_slots import register_page_slots

        webhooks.connect()
        register_page_slots()
        from paypredict_project import mail_threads
        from reminders.selectors import reminder_thread

        mail_threads.register_resolver("reminder", reminder_thread)


def _organization_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        from reminders.services.policies import dunning_policy_create_default

        dunning_policy_create_default(organization=instance)
