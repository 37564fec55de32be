"""Persona fixtures: an admin (owner), a collector and a viewer of org A, and an outsider
who is admin of org B. Every view and API test checks the outsider and the viewer too."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from django.test import Client

from paypredict_project.tenancy.models import Role
from tests.factories import MembershipFactory, OrganizationFactory
from tests.fakes.openai_server import fake_openai  # noqa: F401  (a fixture for every test)

_RUN_ID = uuid.uuid4().hex[:8]


@pytest.fixture(autouse=True)
def _isolated_cache(settings, request):
    """Each test gets its own cache key prefix on the real Redis, so tests never see each
    other's throttles or cached keys (the cache is never mocked)."""
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            **settings.CACHES["default"],
            # The run id keeps a re-run within a key's TTL (same node ids, same org ids from a
            # fresh test database) from finding the previous run's throttles and flags.
            "KEY_PREFIX": f"test:{_RUN_ID}:"
            + hashlib.sha1(request.node.nodeid.encode()).hexdigest(),
        },
    }


@pytest.fixture(autouse=True)
def _no_llm_unless_asked(settings):
    # A developer's OPENAI_* variables must not send test prompts to a real endpoint; tests
    # that want an LLM use the fake_openai fixture, which configures one on loopback.
    settings.OPENAI_API_KEY = ""
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODEL = ""


@pytest.fixture(autouse=True)
def _isolated_login_throttle(_isolated_cache):
    """django-axes keeps the cache it found at start-up: hand it this test's cache."""
    from axes.handlers.proxy import AxesProxyHandler

    AxesProxyHandler.get_implementation(force=True)


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    # PBKDF2's deliberate slowness buys nothing in tests and costs seconds per persona.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="org-a", name="Org A")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="org-b", name="Org B")


def _member(organization, role):
    return MembershipFactory(organization=organization, role=role)


@pytest.fixture
def owner(org):
    return _member(org, Role.ADMIN).user


@pytest.fixture
def collector(org):
    return _member(org, Role.COLLECTOR).user


@pytest.fixture
def viewer(org):
    return _member(org, Role.VIEWER).user


@pytest.fixture
def outsider(other_org):
    return _member(other_org, Role.ADMIN).user


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(owner):
    return _client_for(owner)


@pytest.fixture
def collector_client(collector):
    return _client_for(collector)


@pytest.fixture
def viewer_client(viewer):
    return _client_for(viewer)


@pytest.fixture
def outsider_client(outsider):
    return _client_for(outsider)


@pytest.fixture
def worker(django_capture_on_commit_callbacks):
    """Run what a request queues (transaction.on_commit → task.delay) in-process, as the
    Celery worker would: `with worker(): client.post(...)`."""
    from contextlib import contextmanager

    from paypredict_project.celery import app

    @contextmanager
    def run():
        app.conf.task_always_eager = True
        try:
            with django_capture_on_commit_callbacks(execute=True) as callbacks:
                yield callbacks
        finally:
            app.conf.task_always_eager = False

    return run
