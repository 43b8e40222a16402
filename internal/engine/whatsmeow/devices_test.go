package whatsmeow

import (
	"context"
	"path/filepath"
	"testing"

	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"

	"github.com/openwa/openwa/internal/store"
	"github.com/openwa/openwa/internal/store/storetest"
)

// The device store lives in OpenWA's database on both dialects: a device
// written is read back with its keys.
func TestDeviceStoreOnBothDatabases(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(t *testing.T) (*store.Store, error){
		"sqlite": func(t *testing.T) (*store.Store, error) {
			return store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
		},
		"postgres": func(t *testing.T) (*store.Store, error) {
			return store.OpenPostgres(ctx, storetest.PostgresURL(t), 5, false)
		},
	} {
		t.Run(name, func(t *testing.T) {
			st, err := open(t)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if _, err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			c, err := OpenDevices(ctx, st.DB(), st.Dialect())
			if err != nil {
				t.Fatal(err)
			}
			dev := c.NewDevice()
			jid := types.NewADJID("15550001234", 0, 7)
			dev.ID = &jid
			dev.PushName = "Test"
			dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("details"), AccountSignature: make([]byte, 64),
				AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
			if err := c.PutDevice(ctx, dev); err != nil {
				t.Fatal(err)
			}
			got, err := c.GetDevice(ctx, jid)
			if err != nil || got == nil {
				t.Fatalf("device: %v %v", got, err)
			}
			if got.RegistrationID != dev.RegistrationID || string(got.NoiseKey.Priv[:]) != string(dev.NoiseKey.Priv[:]) {
				t.Fatal("the device's keys did not survive")
			}
			// Idempotent: a second start upgrades nothing and keeps the device.
			if _, err := OpenDevices(ctx, st.DB(), st.Dialect()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Moving a deployment from SQLite to PostgreSQL moves its linked devices.
func TestDevicesMoveWithTheData(t *testing.T) {
	ctx := context.Background()
	src, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "db"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := store.OpenPostgres(ctx, storetest.PostgresURL(t), 5, false)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	var containers []*sqlstore.Container
	for _, st := range []*store.Store{src, dst} {
		if _, err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		c, err := OpenDevices(ctx, st.DB(), st.Dialect())
		if err != nil {
			t.Fatal(err)
		}
		containers = append(containers, c)
	}
	dev := containers[0].NewDevice()
	jid := types.NewADJID("15550009999", 0, 3)
	dev.ID = &jid
	dev.Account = &waAdv.ADVSignedDeviceIdentity{Details: []byte("d"), AccountSignature: make([]byte, 64),
		AccountSignatureKey: make([]byte, 32), DeviceSignature: make([]byte, 64)}
	if err := containers[0].PutDevice(ctx, dev); err != nil {
		t.Fatal(err)
	}
	if err := src.CopyTo(ctx, dst, nil); err != nil {
		t.Fatal(err)
	}
	got, err := containers[1].GetDevice(ctx, jid)
	if err != nil || got == nil || got.RegistrationID != dev.RegistrationID {
		t.Fatalf("device on postgres: %v %v", got, err)
	}
}
