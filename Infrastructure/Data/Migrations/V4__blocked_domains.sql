-- Hosts no link may lead to, added through the API (the configuration may list more). A domain
-- covers every name below it. Stored in the canonical form the service compares: lower case,
-- punycode, no trailing dot, IP addresses in their usual notation.
CREATE TABLE blocked_domains (
    domain             VARCHAR(253) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    created_at         DATETIME(3)  NOT NULL,
    created_by_key_id  BINARY(16)   NULL,
    PRIMARY KEY (domain)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
