-- A reservation (a record without a status) now carries a lease: the token of the request holding it,
-- so that only that request can complete or release it, and the moment it runs out, so that a key
-- held by a process that died is free again after a minute instead of answering 409 for a day.
ALTER TABLE idempotency_records
    ADD COLUMN lease_token BINARY(16) NULL AFTER request_hash,
    ADD COLUMN lease_expires_at DATETIME(3) NULL AFTER lease_token;
