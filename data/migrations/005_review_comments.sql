-- Reviewers' comments on a form or one of its fields (Revue des formulaires).
CREATE SEQUENCE review_comment_seq START 1;
CREATE TABLE review_comment (
    id BIGINT PRIMARY KEY,
    form_id VARCHAR NOT NULL,
    form_version INTEGER NOT NULL,
    field_id VARCHAR,                       -- NULL: the comment is on the whole form
    author_id INTEGER NOT NULL,
    body VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    resolved_at TIMESTAMP,
    resolved_by INTEGER
);
