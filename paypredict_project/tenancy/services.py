from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction

from paypredict_project.tenancy.models import Membership, Organization, Role


@transaction.atomic
def organization_create(
    *,
    slug: str,
    name: str,
    base_currency: str = "USD",
    time_zone: str = "UTC",
    auth0_org_id: str | None = None,
) -> Organization:
    if Organization.objects.filter(slug=slug).exists():
        raise ValidationError(f"an organization with slug {slug!r} already exists")
    organization = Organization(
        slug=slug,
        name=name,
        base_currency=base_currency.upper(),
        time_zone=time_zone,
        auth0_org_id=auth0_org_id or None,
    )
    organization.full_clean()
    organization.save()
    return organization


@transaction.atomic
def membership_create(
    *, organization: Organization, email: str, role: str, password: str | None = None
) -> Membership:
    """Add (or re-role) a member; creates the user on first sight, keyed by e-mail."""
    if role not in Role.values:
        raise ValidationError(f"role must be one of {', '.join(Role.values)}, got {role!r}")
    email = email.strip().lower()
    if "@" not in email:
        raise ValidationError(f"{email!r} is not an e-mail address")
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(username=email, defaults={"email": email})
    if password:
        user.set_password(password)
        user.save(update_fields=["password"])
    elif created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    membership, _ = Membership.objects.update_or_create(
        user=user, organization=organization, defaults={"role": role}
    )
    return membership
