// Package store is OpenWA's database layer: database/sql over SQLite (modernc,
// pure Go) and PostgreSQL behind the same methods. It owns the schema
// (embedded, versioned migrations per dialect), the write serialisation that keeps
// SQLITE_BUSY away from users, and the translation of driver errors into the
// sentinels ErrNotFound and ErrConflict. It knows nothing of HTTP or of the API's
// error codes.
package store
