-- A link may ask its visitors for a password. Only its hash is kept (ASP.NET Core's PasswordHasher:
-- PBKDF2 with HMAC-SHA512, a random salt per password, in its own self-describing text format).
ALTER TABLE links ADD COLUMN password_hash VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NULL;

-- The data-protection key ring (it signs the anti-forgery tokens of the password form), shared by
-- every instance so that a form served by one can be posted to another.
CREATE TABLE data_protection_keys (
    name        VARCHAR(100)  CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    xml         MEDIUMTEXT    CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    created_at  DATETIME(3)   NOT NULL,
    PRIMARY KEY (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_unicode_ci;
