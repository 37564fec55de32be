"""Domain events: a transactional outbox, a relay to Redis Streams, and the live feed.

Any app records an event in the same transaction as the change it describes::

    from paypredict_project.events.services import event_record

    event_record(organization=org, type="dispute.opened", entity_id=dispute.code,
                 payload={...})

The relay (``manage.py relay_events``) publishes committed events in order to one Redis
stream per organization; the live feed and other consumers read those streams.
"""
