"""Change events in (F53): Debezium change events of a payment system's database become
ledger payments. ``envelope`` reads the wire format, ``mapping`` says how source columns
become payments, ``apply`` keeps per-key order and idempotency, ``transport`` moves records
(Redis Streams by default, Kafka when configured)."""
