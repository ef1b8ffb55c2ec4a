-- Runs unchanged on MySQL 8.4 and MariaDB 10.11: no 0900 collations, no row aliases.
-- A link is identified by (domain, code); codes compare byte-wise, so 'abc' and 'ABC' differ.
-- Deleted links keep their row (deleted_at set) so that the unique key alone stops a code from
-- ever being handed out again.
CREATE TABLE links (
    id             BINARY(16)    NOT NULL,
    domain         VARCHAR(253)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    code           VARCHAR(64)   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    url            VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    title          VARCHAR(512)  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NULL,
    redirect_type  INT           NOT NULL,
    forward_query  BOOLEAN       NOT NULL,
    valid_from     DATETIME(3)   NULL,
    expires_at     DATETIME(3)   NULL,
    max_visits     INT           NULL,
    visit_count    BIGINT        NOT NULL DEFAULT 0,
    created_at     DATETIME(3)   NOT NULL,
    updated_at     DATETIME(3)   NOT NULL,
    deleted_at     DATETIME(3)   NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ux_links_domain_code (domain, code)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE link_tags (
    link_id  BINARY(16)   NOT NULL,
    tag      VARCHAR(50)  CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (link_id, tag),
    KEY ix_link_tags_tag (tag, link_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Replays of POST requests carrying an Idempotency-Key. A row with a NULL status is a request
-- still in flight under that key.
CREATE TABLE idempotency_records (
    key_hash       BINARY(32)   NOT NULL,
    request_hash   BINARY(32)   NOT NULL,
    status_code    INT          NULL,
    location       VARCHAR(2048) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    response_body  MEDIUMTEXT   CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
    created_at     DATETIME(3)  NOT NULL,
    PRIMARY KEY (key_hash),
    KEY ix_idempotency_records_created_at (created_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
