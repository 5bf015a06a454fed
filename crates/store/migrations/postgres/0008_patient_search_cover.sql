-- Kept in step with the SQLite migration of the same number, which adds a covering index
-- for FTS5 search results. PostgreSQL's search goes through the pg_trgm GIN index and
-- reads the rows anyway, so it needs nothing here.
SELECT 1;
