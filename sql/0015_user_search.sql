-- The console's user search (GET /dashboard/api/users): an id, email or name matched from its
-- start, case-insensitively for email and name, through an index rather than a scan of every
-- user. Partial: users without an email or a name (most, for apps that send ids only) add no
-- entry and cost their insert nothing.
CREATE INDEX users_by_email ON users (tenant_id, email COLLATE NOCASE) WHERE email IS NOT NULL;
CREATE INDEX users_by_name ON users (tenant_id, name COLLATE NOCASE) WHERE name IS NOT NULL;
