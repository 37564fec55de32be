"""Fixtures for the accounting integrations: local fake QuickBooks and Xero servers with the
settings pointed at them, an encryption key, fast backoff, and connected organizations."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from integrations.services import connection_connect_refresh_token
from tests.fakes.quickbooks_server import FakeQuickBooks
from tests.fakes.xero_server import FakeXero

ENCRYPTION_KEY = Fernet.generate_key().decode()


@pytest.fixture
def integration_settings(settings):
    settings.FIELD_ENCRYPTION_KEY = ENCRYPTION_KEY
    # Backoff sleeps stay real but tiny; the retry logic is the same.
    settings.INTEGRATIONS_BACKOFF_BASE_SECONDS = 0.01
    settings.INTEGRATIONS_BACKOFF_MAX_SECONDS = 0.05
    settings.INTEGRATIONS_MAX_RETRIES = 4
    settings.INTEGRATIONS_PAGE_SIZE = 10
    settings.QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN = "qbo-verifier-token"
    settings.XERO_WEBHOOK_KEY = "xero-webhook-key"
    return settings


@pytest.fixture
def fake_qbo(integration_settings):
    fake = FakeQuickBooks().start()
    s = integration_settings
    s.QUICKBOOKS_CLIENT_ID = fake.oauth.client_id
    s.QUICKBOOKS_CLIENT_SECRET = fake.oauth.client_secret
    s.QUICKBOOKS_API_BASE_URL = fake.url
    s.QUICKBOOKS_OAUTH_AUTHORIZE_URL = f"{fake.url}/connect/oauth2"
    s.QUICKBOOKS_OAUTH_TOKEN_URL = f"{fake.url}/oauth2/v1/tokens/bearer"
    s.QUICKBOOKS_OAUTH_REVOKE_URL = f"{fake.url}/v2/oauth2/tokens/revoke"
    yield fake
    fake.stop()


@pytest.fixture
def fake_xero(integration_settings):
    fake = FakeXero().start()
    s = integration_settings
    s.XERO_CLIENT_ID = fake.oauth.client_id
    s.XERO_CLIENT_SECRET = fake.oauth.client_secret
    s.XERO_API_BASE_URL = fake.url
    s.XERO_OAUTH_AUTHORIZE_URL = f"{fake.url}/identity/connect/authorize"
    s.XERO_OAUTH_TOKEN_URL = f"{fake.url}/connect/token"
    s.XERO_OAUTH_REVOKE_URL = f"{fake.url}/connect/revocation"
    yield fake
    fake.stop()


@pytest.fixture
def qbo_connection(org, fake_qbo):
    return connection_connect_refresh_token(
        organization=org,
        provider="quickbooks",
        account_id=fake_qbo.realm,
        refresh_token=fake_qbo.oauth.refresh_token,
    )


@pytest.fixture
def xero_connection(org, fake_xero):
    return connection_connect_refresh_token(
        organization=org,
        provider="xero",
        account_id=fake_xero.tenant,
        refresh_token=fake_xero.oauth.refresh_token,
    )
