-- files.members: a member's role (free text chosen by the platform, 'member' unless given).
ALTER TABLE company_members ADD COLUMN role text NOT NULL DEFAULT 'member';

-- files.api "list": a company's files, newest first, paged by (created_at, id).
CREATE INDEX files_company_created_idx ON files (company_id, created_at DESC, id DESC);
