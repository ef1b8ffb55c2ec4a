-- Sharding by code. A link, its visits and its rollups live on the shard of its bucket: CRC-32 (IEEE 802.3, as zlib
-- and the SQL function compute it) of the UTF-8 bytes of domain, '/', code, modulo 1,024. The service computes the
-- same number to route a request (Infrastructure/Data/Buckets.cs); the column lets a shard find a bucket's rows, to
-- move them or to leave them out of a list while they are being moved. Generated, so that no code path can store a
-- bucket that disagrees with the hash. Runs unchanged on MySQL 8.4 and MariaDB 10.11.
ALTER TABLE links
    ADD COLUMN bucket SMALLINT UNSIGNED GENERATED ALWAYS AS (CRC32(CONCAT(domain, '/', code)) % 1024) STORED,
    ADD KEY ix_links_bucket (bucket, id);

-- Which shard holds each bucket. Authoritative in the control database (every database gets the table with the
-- schema; only the control database's copy is read). Every instance reads it again within a second of a change, which
-- bumps bucket_map_version. moving_to names the shard a bucket is being copied to (its copy there is no one's yet);
-- moved_from the shard it left, whose rows wait for the clean-up; writes_frozen_until refuses the bucket's writes
-- (503, Retry-After) while its last changes are copied.
CREATE TABLE bucket_map (
    bucket               SMALLINT UNSIGNED  NOT NULL,
    shard                INT                NOT NULL,
    moving_to            INT                NULL,
    moved_from           INT                NULL,
    writes_frozen_until  DATETIME(3)        NULL,
    PRIMARY KEY (bucket)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE bucket_map_version (
    id       TINYINT  NOT NULL,
    version  BIGINT   NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Every bucket on the first shard: one database needs nothing more. 1,024 = 4^5 rows, without a recursive CTE
-- (MySQL stops those at 1,000 levels by default).
INSERT INTO bucket_map (bucket, shard)
SELECT a.n + 4 * b.n + 16 * c.n + 64 * d.n + 256 * e.n, 0
FROM (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) a
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) b
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) c
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
CROSS JOIN (SELECT 0 AS n UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) e;

INSERT INTO bucket_map_version (id, version) VALUES (1, 1);
