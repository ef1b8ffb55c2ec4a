-- Who may see and change what. An owner holds links; its API keys act for it, so a key can be
-- rotated (a new key for the same owner, the old one revoked) without the links changing hands.
-- Keys are stored as the SHA-256 of the whole key, never in clear; the prefix is public and only
-- helps people tell their keys apart.
CREATE TABLE owners (
    id          BINARY(16)    NOT NULL,
    name        VARCHAR(200)  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    created_at  DATETIME(3)   NOT NULL,
    PRIMARY KEY (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

CREATE TABLE api_keys (
    id            BINARY(16)    NOT NULL,
    owner_id      BINARY(16)    NOT NULL,
    name          VARCHAR(200)  CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL,
    role          VARCHAR(16)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    prefix        VARCHAR(32)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    key_hash      BINARY(32)    NOT NULL,
    expires_at    DATETIME(3)   NULL,
    created_at    DATETIME(3)   NOT NULL,
    last_used_at  DATETIME(3)   NULL,
    revoked_at    DATETIME(3)   NULL,
    PRIMARY KEY (id),
    UNIQUE KEY ux_api_keys_key_hash (key_hash),
    KEY ix_api_keys_owner (owner_id),
    CONSTRAINT fk_api_keys_owner FOREIGN KEY (owner_id) REFERENCES owners (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;

-- Links made before keys existed belong to the legacy owner, which only admins see.
INSERT INTO owners (id, name, created_at) VALUES (X'00000000000070008000000000000001', 'legacy', UTC_TIMESTAMP(3));

ALTER TABLE links
    ADD COLUMN owner_id BINARY(16) NOT NULL DEFAULT X'00000000000070008000000000000001' AFTER code,
    ADD COLUMN created_by_key_id BINARY(16) NULL AFTER owner_id,
    ADD KEY ix_links_owner (owner_id, id);

-- The default only placed the existing rows; a new link without an owner is a bug and must fail.
ALTER TABLE links ALTER COLUMN owner_id DROP DEFAULT;
