package directory_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/cache/memory"
	"github.com/openwa/openwa/internal/directory"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/engine/mock"
	"github.com/openwa/openwa/internal/message"
	"github.com/openwa/openwa/internal/session"
	"github.com/openwa/openwa/internal/store"
)

// newDirectory returns the directory over a session manager running the mock
// engine, with one READY session "ready" and one never started, "idle".
func newDirectory(t *testing.T) *directory.Service {
	t.Helper()
	ctx := context.Background()
	st, err := store.OpenSQLite(ctx, filepath.Join(t.TempDir(), "openwa.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	m := session.NewManager(session.Options{Store: st, Cache: memory.New(100, time.Minute), DefaultEngine: "mock",
		MaxSessions: 10, Engines: map[string]engine.Factory{"mock": mock.New}, Logger: log})
	t.Cleanup(func() { m.Close(context.Background()) })
	no, zero := false, 0
	if _, err := m.Create(ctx, session.CreateInput{ID: "idle", Config: session.Config{AutoStart: &no}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Create(ctx, session.CreateInput{ID: "ready", Config: session.Config{Mock: &engine.MockConfig{PairDelayMs: &zero}}}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		s, err := m.Get(ctx, "ready")
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == session.StatusReady {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("session not READY: %s", s.Status)
		}
		time.Sleep(5 * time.Millisecond) // polling for a condition, with a deadline
	}
	msgs := message.New(message.Options{Store: st, Sessions: m, Logger: log})
	return directory.New(m, msgs)
}

// expect checks that err is an *apperr.Error with code.
func expect(t *testing.T, err error, code apperr.Code) *apperr.Error {
	t.Helper()
	ae, ok := apperr.As(err)
	if !ok || ae.Code != code {
		t.Fatalf("error %v, want %s", err, code)
	}
	return ae
}

const (
	contact = "15550000001@s.whatsapp.net" // Alice, of the mock's address book
	group   = "120363000000000001@g.us"    // the mock's group
)

func TestNotReady(t *testing.T) {
	d := newDirectory(t)
	ctx := context.Background()
	subject := "x"
	calls := map[string]func(id string) error{
		"Contacts":   func(id string) error { _, _, err := d.Contacts(ctx, id, "", directory.Page{Limit: 10}); return err },
		"CheckPhone": func(id string) error { _, _, err := d.CheckPhone(ctx, id, "15550000001"); return err },
		"Contact":    func(id string) error { _, err := d.Contact(ctx, id, contact); return err },
		"ProfilePictureURL": func(id string) error {
			_, err := d.ProfilePictureURL(ctx, id, contact)
			return err
		},
		"SetBlocked":  func(id string) error { return d.SetBlocked(ctx, id, contact, true) },
		"LID":         func(id string) error { _, err := d.LID(ctx, id, "123456789"); return err },
		"LIDByPhone":  func(id string) error { _, err := d.LIDByPhone(ctx, id, "15550000001"); return err },
		"Groups":      func(id string) error { _, _, err := d.Groups(ctx, id, directory.Page{Limit: 10}); return err },
		"Group":       func(id string) error { _, err := d.Group(ctx, id, group); return err },
		"CreateGroup": func(id string) error { _, err := d.CreateGroup(ctx, id, "g", []string{contact}); return err },
		"UpdateGroup": func(id string) error { _, err := d.UpdateGroup(ctx, id, group, &subject, nil); return err },
		"UpdateParticipants": func(id string) error {
			_, err := d.UpdateParticipants(ctx, id, group, engine.ParticipantAdd, []string{contact})
			return err
		},
		"InviteLink":   func(id string) error { _, err := d.InviteLink(ctx, id, group, false); return err },
		"LeaveGroup":   func(id string) error { return d.LeaveGroup(ctx, id, group) },
		"MarkRead":     func(id string) error { return d.MarkRead(ctx, id, contact, []string{"ABC"}) },
		"SendPresence": func(id string) error { return d.SendPresence(ctx, id, contact, engine.PresenceTyping) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ae := expect(t, call("idle"), apperr.SessionNotReady)
			if ae.Details["status"] != string(session.StatusCreated) {
				t.Fatalf("details %v, want the status CREATED", ae.Details)
			}
			expect(t, call("nobody"), apperr.SessionNotFound)
		})
	}
}

func TestBadIDs(t *testing.T) {
	d := newDirectory(t)
	ctx := context.Background()
	subject := "x"
	// Bad ids are VALIDATION_ERROR naming the field, whatever the session's state.
	calls := map[string]func(id string) error{
		"CheckPhone":         func(id string) error { _, _, err := d.CheckPhone(ctx, id, "12"); return err },
		"Contact":            func(id string) error { _, err := d.Contact(ctx, id, "not a phone"); return err },
		"Contact of group":   func(id string) error { _, err := d.Contact(ctx, id, group); return err },
		"ProfilePictureURL":  func(id string) error { _, err := d.ProfilePictureURL(ctx, id, "x@example.com"); return err },
		"SetBlocked":         func(id string) error { return d.SetBlocked(ctx, id, "abc", false) },
		"Contact of channel": func(id string) error { _, err := d.Contact(ctx, id, "123@newsletter"); return err },
		"LID":                func(id string) error { _, err := d.LID(ctx, id, "12ab"); return err },
		"LID of a phone JID": func(id string) error { _, err := d.LID(ctx, id, contact); return err },
		"LIDByPhone":         func(id string) error { _, err := d.LIDByPhone(ctx, id, group); return err },
		"Group":              func(id string) error { _, err := d.Group(ctx, id, contact); return err },
		"CreateGroup":        func(id string) error { _, err := d.CreateGroup(ctx, id, "g", []string{group}); return err },
		"UpdateGroup":        func(id string) error { _, err := d.UpdateGroup(ctx, id, "1@g.us.x", &subject, nil); return err },
		"UpdateGroup empty":  func(id string) error { _, err := d.UpdateGroup(ctx, id, group, nil, nil); return err },
		"UpdateParticipants": func(id string) error {
			_, err := d.UpdateParticipants(ctx, id, group, engine.ParticipantAdd, []string{"0"})
			return err
		},
		"InviteLink":   func(id string) error { _, err := d.InviteLink(ctx, id, "x", true); return err },
		"LeaveGroup":   func(id string) error { return d.LeaveGroup(ctx, id, "") },
		"ChatMessages": func(id string) error { _, _, err := d.ChatMessages(ctx, id, "?", directory.Page{Limit: 1}); return err },
		"MarkRead":     func(id string) error { return d.MarkRead(ctx, id, "1@lid@x", []string{"ABC"}) },
		"SendPresence": func(id string) error { return d.SendPresence(ctx, id, "+", engine.PresenceTyping) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			for _, id := range []string{"ready", "idle"} {
				ae := expect(t, call(id), apperr.Validation)
				if len(ae.Details) == 0 {
					t.Fatalf("%s: no field named: %+v", id, ae)
				}
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	d := newDirectory(t)
	ctx := context.Background()
	stranger, nogroup := "4915112345678", "120363999999999999@g.us"
	subject := "x"
	_, err := d.Contact(ctx, "ready", stranger)
	expect(t, err, apperr.ContactNotFound)
	_, err = d.ProfilePictureURL(ctx, "ready", stranger+"@c.us")
	expect(t, err, apperr.ContactNotFound)
	_, err = d.Group(ctx, "ready", nogroup)
	expect(t, err, apperr.GroupNotFound)
	_, err = d.UpdateGroup(ctx, "ready", nogroup, &subject, nil)
	expect(t, err, apperr.GroupNotFound)
	_, err = d.UpdateParticipants(ctx, "ready", nogroup, engine.ParticipantRemove, []string{contact})
	expect(t, err, apperr.GroupNotFound)
	_, err = d.InviteLink(ctx, "ready", nogroup, false)
	expect(t, err, apperr.GroupNotFound)
	expect(t, d.LeaveGroup(ctx, "ready", nogroup), apperr.GroupNotFound)
	_, err = d.LID(ctx, "ready", "123456789@lid")
	expect(t, err, apperr.NotFound)
}

func TestReadyAnswersCanonical(t *testing.T) {
	d := newDirectory(t)
	ctx := context.Background()
	// Every accepted way of writing a contact finds the same one.
	for _, id := range []string{"+1 555-000-0001", "15550000001@c.us", contact} {
		c, err := d.Contact(ctx, "ready", id)
		if err != nil || c.JID != contact || c.Name != "Alice" {
			t.Fatalf("%s: %+v %v", id, c, err)
		}
	}
	list, total, err := d.Contacts(ctx, "ready", "BO", directory.Page{Limit: 10})
	if err != nil || total != 1 || len(list) != 1 || list[0].Name != "Bob" {
		t.Fatalf("search: %+v %d %v", list, total, err)
	}
	list, total, err = d.Contacts(ctx, "ready", "", directory.Page{Limit: 2, Offset: 1})
	if err != nil || total != 3 || len(list) != 2 || list[0].Name != "Bob" || list[1].Name != "Carol" {
		t.Fatalf("page: %+v %d %v", list, total, err)
	}
	g, err := d.Group(ctx, "ready", group)
	if err != nil || g.JID != group {
		t.Fatalf("group: %+v %v", g, err)
	}
	if _, total, err := d.Chats(ctx, "idle", directory.Page{Limit: 10}); err != nil || total != 0 {
		t.Fatalf("chats of a stopped session: %d %v", total, err)
	}
	_, _, err = d.Chats(ctx, "nobody", directory.Page{Limit: 10})
	expect(t, err, apperr.SessionNotFound)
}
