"""QuickBooks Online: OAuth2 connect (realmId), query/CDC client, sync adapter, webhooks."""
