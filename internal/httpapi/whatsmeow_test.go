package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"

	"github.com/openwa/openwa/internal/app"
	"github.com/openwa/openwa/internal/engine/whatsmeow/fakewa"
)

// withFakeWhatsApp starts a fake WhatsApp server that the real whatsmeow
// client trusts for the length of the test, and an OpenWA on it.
func withFakeWhatsApp(t *testing.T) (*env, *fakewa.Server) {
	srv := fakewa.New()
	t.Cleanup(srv.Close)
	saved := whatsmeow.WACertPubKey
	whatsmeow.WACertPubKey = *srv.Root.Pub // process-global: this suite's tests do not run in parallel
	t.Cleanup(func() { whatsmeow.WACertPubKey = saved })
	return newEnvWith(t, map[string]string{"ENGINE_TYPE": "whatsmeow", "WEBHOOK_ALLOW_PRIVATE": "true"},
		app.WithWhatsmeowTransport(srv.Transport())), srv
}

// The whole life of a real-engine session through OpenWA's API, against a
// server that speaks WhatsApp's protocol: QR, pairing, READY, a restart that
// needs no QR, a dropped connection, a temporary ban, and the phone unlinking it.
func TestWhatsmeowSessionLife(t *testing.T) {
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()

	r := e.do("POST", "/api/sessions", map[string]any{"id": "wa"})
	e.expect(r, 201, "")
	if r.data()["engine"] != "whatsmeow" {
		t.Fatalf("engine %v", r.data()["engine"])
	}
	e.waitStatus("wa", "QR_READY")
	qr := e.do("GET", "/api/sessions/wa/qr", nil)
	e.expect(qr, 200, "")
	code := qr.data()["qr"].(string)
	if !strings.Contains(code, "2@fakeref1,") {
		t.Fatalf("qr %q", code)
	}

	// The phone scans it.
	if err := srv.Pair(ctx, code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	ready := e.waitStatus("wa", "READY")
	if ready["phone"] != "15557654321" {
		t.Fatalf("ready: %v", ready)
	}
	me := e.do("GET", "/api/sessions/wa/me", nil).data()
	if me["id"] != "15557654321@s.whatsapp.net" || me["lid"] == nil {
		t.Fatalf("me: %v", me)
	}
	statuses := func() []string {
		evs, _ := e.events("after=0&limit=1000&events=session.status")
		var out []string
		for _, ev := range evs {
			out = append(out, ev["data"].(map[string]any)["status"].(string))
		}
		return out
	}
	if got := strings.Join(statuses(), ">"); !strings.HasPrefix(got, "INITIALIZING>QR_READY>AUTHENTICATED>READY") {
		t.Fatalf("statuses %s", got)
	}

	// A restart of OpenWA: READY again from the stored device, no new QR.
	qrsBefore, _ := e.events("after=0&limit=1000&events=session.qr")
	e.restart()
	e.waitStatus("wa", "READY")
	if qrs, _ := e.events("after=0&limit=1000&events=session.qr"); len(qrs) != len(qrsBefore) {
		t.Fatal("the restored session asked for a QR code")
	}

	// The connection drops: whatsmeow reconnects, the session is READY again.
	before := len(statuses())
	srv.Drop()
	deadline := time.Now().Add(15 * time.Second)
	for {
		s := statuses()
		if len(s) > before && s[len(s)-1] == "READY" {
			if !strings.Contains(strings.Join(s[before:], ">"), "DISCONNECTED") {
				t.Fatalf("after the drop: %v", s[before:])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no reconnect: %v", s[before:])
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A temporary ban at the next login: FAILED, with the reason and its end.
	srv.BanLogins(time.Hour)
	srv.Drop()
	failed := e.waitStatus("wa", "FAILED")
	if reason, _ := failed["lastError"].(string); !strings.Contains(reason, "temporarily banned") || !strings.Contains(reason, "until") {
		t.Fatalf("ban: %v", failed["lastError"])
	}
	srv.BanLogins(0)
	e.expect(e.do("POST", "/api/sessions/wa/restart", nil), 200, "")
	e.waitStatus("wa", "READY")

	// The phone unlinks the device: logged out, pairing forgotten.
	if err := srv.RemoveDevice(ctx); err != nil {
		t.Fatal(err)
	}
	out := e.waitStatus("wa", "DISCONNECTED")
	if out["phone"] != nil || !strings.Contains(out["lastError"].(string), "unlinked") {
		t.Fatalf("after device_removed: %v", out)
	}
	if auth, err := e.app.Store.SessionAuth(ctx, "wa"); err != nil || auth != nil {
		t.Fatalf("pairing kept: %q %v", auth, err)
	}
	// Starting again asks for a QR code.
	e.expect(e.do("POST", "/api/sessions/wa/start", nil), 200, "")
	e.waitStatus("wa", "QR_READY")
}

// Without a network the session is created and says why it could not start.
func TestWhatsmeowWithoutNetwork(t *testing.T) {
	e := newEnvWith(t, map[string]string{"ENGINE_TYPE": "whatsmeow"}, app.WithWhatsmeowTransport(unreachable{}))
	r := e.do("POST", "/api/sessions", map[string]any{"id": "off"})
	e.expect(r, 201, "")
	if r.data()["status"] != "FAILED" || !strings.Contains(r.data()["lastError"].(string), "cannot reach WhatsApp") {
		t.Fatalf("created: %v", r.data())
	}
	r = e.do("POST", "/api/sessions/off/start", nil)
	e.expect(r, 502, "ENGINE_ERROR")
	e.expect(e.do("GET", "/health", nil, noKey()), 200, "")
}

type unreachable struct{}

func (unreachable) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("dial tcp: no route to host")
}

// A contact writes: the message arrives Signal-encrypted (a new session from
// the prekeys the device uploaded), whatsmeow decrypts it, and it is stored,
// listed and delivered to a webhook like any other.
func TestWhatsmeowReceivesEncryptedMessage(t *testing.T) {
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	e.do("POST", "/api/sessions", map[string]any{"id": "wa"})
	e.waitStatus("wa", "QR_READY")
	code := e.do("GET", "/api/sessions/wa/qr", nil).data()["qr"].(string)
	if err := srv.Pair(ctx, code, "15557654321"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("wa", "READY")
	rcv := newReceiver(t)
	e.restart() // and from the stored device
	e.waitStatus("wa", "READY")
	e.createWebhook("/api/sessions/wa/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})

	alice := fakewa.NewContact("6281234567890")
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err = srv.SendText(ctx, alice, "3EB0FROMALICE", "hello over Signal"); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	d := rcv.wait(t, 1)[0]
	var ev struct {
		Event string
		Data  map[string]any
	}
	json.Unmarshal(d.Body, &ev)
	if ev.Event != "message.received" || ev.Data["text"] != "hello over Signal" || ev.Data["from"] != "6281234567890@s.whatsapp.net" ||
		ev.Data["waMessageId"] != "3EB0FROMALICE" || ev.Data["fromMe"] != false {
		t.Fatalf("delivered: %s", d.Body)
	}
	list := e.do("GET", "/api/sessions/wa/messages?direction=in", nil).list()
	if len(list) != 1 || list[0].(map[string]any)["text"] != "hello over Signal" {
		t.Fatalf("stored: %v", list)
	}
}
