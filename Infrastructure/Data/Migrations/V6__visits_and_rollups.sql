-- Click analytics. Runs unchanged on MySQL 8.4 and MariaDB 10.11.
--
-- One row per redirected visit, keyed by the visit's own id (UUIDv7): a visit written twice (an event
-- delivered again after a crash) is recognised by that key and counted once. No address is stored: the
-- visitor is an 8-byte keyed hash of (address, user agent) under a salt of the day (visitor_salts).
CREATE TABLE visits (
    id             BINARY(16)    NOT NULL,
    link_id        BINARY(16)    NOT NULL,
    owner_id       BINARY(16)    NOT NULL,
    occurred_at    DATETIME(3)   NOT NULL,
    referrer_host  VARCHAR(253)  CHARACTER SET ascii COLLATE ascii_bin NULL,
    country        CHAR(2)       CHARACTER SET ascii COLLATE ascii_bin NULL,
    browser        VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    os             VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    device         VARCHAR(16)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    is_bot         BOOLEAN       NOT NULL,
    visitor_hash   BINARY(8)     NOT NULL,
    region         VARCHAR(32)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    PRIMARY KEY (id),
    KEY ix_visits_link (link_id, occurred_at, id),
    KEY ix_visits_occurred_at (occurred_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Visits per link, UTC hour, dimension and value, bots apart; stats read these, never the raw visits.
-- Dimensions: total and visitors (value ''), referrer, country, browser, os, device ('' = unknown).
-- "visitors" counts a visitor once per UTC day, in the hour of that day's first visit.
CREATE TABLE visit_rollups (
    link_id    BINARY(16)    NOT NULL,
    is_bot     BOOLEAN       NOT NULL,
    dimension  VARCHAR(16)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    hour       DATETIME      NOT NULL,
    value      VARCHAR(253)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    visits     BIGINT        NOT NULL,
    PRIMARY KEY (link_id, is_bot, dimension, hour, value)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- The visitors already counted for a link on a UTC day (hashes change with the day's salt anyway).
CREATE TABLE visit_visitors (
    link_id       BINARY(16)  NOT NULL,
    day           DATE        NOT NULL,
    visitor_hash  BINARY(8)   NOT NULL,
    PRIMARY KEY (link_id, day, visitor_hash),
    KEY ix_visit_visitors_day (day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- One random salt per UTC day, shared by every instance so that they hash a visitor alike, and deleted
-- once its day is over: without it, nobody can tell which address a stored hash came from.
CREATE TABLE visitor_salts (
    day   DATE        NOT NULL,
    salt  BINARY(32)  NOT NULL,
    PRIMARY KEY (day)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
