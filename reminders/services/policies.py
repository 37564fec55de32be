"""Dunning policies: the default every organization has, and a step's risk variant."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from invoices.models import Customer
from paypredict_project.tenancy.models import Organization
from reminders.defaults import DEFAULT_POLICY_NAME, DEFAULT_STEPS
from reminders.models import TONE_ORDER, DunningPolicy, DunningStep, Tone


@transaction.atomic
def dunning_policy_create_default(*, organization: Organization) -> DunningPolicy:
    """The organization's default policy with the default steps (idempotent)."""
    existing = DunningPolicy.objects.filter(organization=organization, customer=None).first()
    if existing is not None:
        return existing
    policy = DunningPolicy.objects.create(organization=organization, name=DEFAULT_POLICY_NAME)
    DunningStep.objects.bulk_create(DunningStep(policy=policy, **step) for step in DEFAULT_STEPS)
    return policy


def dunning_policies_by_customer(
    *, organization: Organization, customer_ids: list[int]
) -> tuple[DunningPolicy, dict[int, DunningPolicy]]:
    """The default policy and the customers' own policies, steps prefetched (two queries)."""
    default = dunning_policy_create_default(organization=organization)
    policies = DunningPolicy.objects.filter(organization=organization).prefetch_related("steps")
    own = {p.customer_id: p for p in policies.filter(customer_id__in=customer_ids)}
    default = policies.get(pk=default.pk)
    return default, own


@dataclass(frozen=True)
class EffectiveStep:
    """A step as it applies to one customer's risk level."""

    step: DunningStep
    offset_days: int
    tone: str

    @property
    def key(self) -> str:
        return self.step.key

    @property
    def auto_send(self) -> bool:
        # Only friendly mail goes out unreviewed, even on a step that allows auto-sending.
        return not self.step.requires_approval and self.tone == Tone.FRIENDLY


def effective_steps(*, policy: DunningPolicy, risk_level: str) -> list[EffectiveStep]:
    """The policy's steps shifted and re-toned for a risk level, in policy order."""
    steps = []
    for step in sorted(policy.steps.all(), key=lambda s: s.offset_days):
        shift, tone = 0, step.tone
        if risk_level == "high":
            shift, tone = step.high_risk_shift_days, step.high_risk_tone or step.tone
        elif risk_level == "low":
            shift, tone = step.low_risk_shift_days, step.low_risk_tone or step.tone
        steps.append(EffectiveStep(step=step, offset_days=step.offset_days + shift, tone=tone))
    return steps


def tone_rank(tone: str) -> int:
    return TONE_ORDER.index(Tone(tone))


def customer_policy_set(*, customer: Customer, policy: DunningPolicy | None) -> None:
    """Give a customer its own policy (a copy of ``policy``) or return it to the default."""
    with transaction.atomic():
        DunningPolicy.objects.filter(customer=customer).delete()
        if policy is None:
            return
        own = DunningPolicy.objects.create(
            organization_id=customer.organization_id,
            customer=customer,
            name=f"{customer.name}: own policy",
            sender_name=policy.sender_name,
            reply_to=policy.reply_to,
            payment_instructions=policy.payment_instructions,
            holdout_share=policy.holdout_share,
        )
        DunningStep.objects.bulk_create(
            DunningStep(
                policy=own,
                **{
                    f.name: getattr(step, f.name)
                    for f in DunningStep._meta.concrete_fields
                    if f.name not in ("id", "policy")
                },
            )
            for step in policy.steps.all()
        )
