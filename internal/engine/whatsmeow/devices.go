// Package whatsmeow is OpenWA's engine on go.mau.fi/whatsmeow, the WhatsApp
// multi-device protocol. This file keeps whatsmeow's device store (keys,
// sessions, pre-keys of every linked device) in OpenWA's own database, on
// SQLite and on PostgreSQL alike.
package whatsmeow

import (
	"context"
	"database/sql"
	"fmt"

	"go.mau.fi/whatsmeow/store/sqlstore"
)

// OpenDevices returns whatsmeow's device store on db, its tables created or
// upgraded. dialect is the store's: "sqlite" or "postgres".
func OpenDevices(ctx context.Context, db *sql.DB, dialect string) (*sqlstore.Container, error) {
	d := "sqlite3"
	if dialect == "postgres" {
		d = "postgres"
	}
	c := sqlstore.NewWithDB(db, d, nil)
	if err := c.Upgrade(ctx); err != nil {
		return nil, fmt.Errorf("whatsmeow device store: %w", err)
	}
	return c, nil
}
