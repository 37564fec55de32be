"""Xero: OAuth2 connect (tenant from /connections), paged client, sync adapter, webhooks."""
