-- The primary's heartbeat, which every instance with read replicas writes every Database:HeartbeatMilliseconds and
-- reads back from each replica: how far a replica's copy trails the primary's is its lag, measured in the primary's
-- own clock and whatever the replica's threads report. One row; runs unchanged on MySQL 8.4 and MariaDB 10.11.
CREATE TABLE replication_heartbeat (
    id    TINYINT      NOT NULL PRIMARY KEY,
    beat  DATETIME(6)  NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
