-- Files, their chunks, and company membership. Times are epoch milliseconds.

CREATE TABLE files (
    id                uuid PRIMARY KEY,
    company_id        uuid    NOT NULL,
    owner_type        text    NOT NULL CHECK (owner_type IN ('user', 'application')),
    owner_id          uuid    NOT NULL,
    user_id           uuid    NOT NULL,
    application_id    uuid,
    name              text    NOT NULL,
    mime              text    NOT NULL,
    -- live content: what downloads serve; generation is null until the first upload completes
    generation        integer,
    size              bigint  NOT NULL DEFAULT 0,
    chunks            integer NOT NULL DEFAULT 0,
    -- the upload in progress (first upload or overwrite); upload_generation is null when none
    upload_generation integer,
    total_chunks      integer CHECK (total_chunks >= 1),
    total_size        bigint  CHECK (total_size >= 0),
    upload_name       text,
    upload_mime       text,
    thumbnails        jsonb   NOT NULL DEFAULT '[]'::jsonb,
    thumbnails_status text    NOT NULL DEFAULT 'none',
    created_at        bigint  NOT NULL,
    updated_at        bigint  NOT NULL
);

CREATE INDEX files_company_idx ON files (company_id);
CREATE INDEX files_pending_idx ON files (updated_at) WHERE upload_generation IS NOT NULL;

CREATE TABLE chunks (
    file_id      uuid    NOT NULL REFERENCES files (id) ON DELETE CASCADE,
    generation   integer NOT NULL,
    chunk_number integer NOT NULL CHECK (chunk_number >= 1),
    size         bigint  NOT NULL CHECK (size >= 0),
    sha256       text    NOT NULL,
    storage_key  text    NOT NULL UNIQUE,
    created_at   bigint  NOT NULL,
    PRIMARY KEY (file_id, generation, chunk_number)
);

CREATE TABLE company_members (
    company_id uuid   NOT NULL,
    user_id    uuid   NOT NULL,
    created_at bigint NOT NULL,
    PRIMARY KEY (company_id, user_id)
);
