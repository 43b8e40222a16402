package httpapi_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/canary"
)

// The canary (openwa canary) against an OpenWA on the fake WhatsApp server:
// two whatsmeow sessions paired to two accounts that the fake routes
// between, every step of the canary passing through the public API only.
func TestCanaryAgainstFakeWhatsApp(t *testing.T) {
	t.Parallel()
	e, srv := withFakeWhatsApp(t)
	ctx := context.Background()
	for _, a := range []struct{ id, phone string }{{"canary-a", "15550001001"}, {"canary-b", "15550001002"}} {
		srv.AddAccount(a.phone)
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": a.id}), 201, "")
		e.waitStatus(a.id, "QR_READY")
		code := e.do("GET", "/api/sessions/"+a.id+"/qr", nil).data()["qr"].(string)
		if err := srv.Pair(ctx, code, a.phone); err != nil {
			t.Fatal(err)
		}
		e.waitStatus(a.id, "READY")
		for deadline := time.Now().Add(10 * time.Second); !srv.HasKeysOf(a.phone); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s uploaded no prekeys", a.id)
			}
		}
	}

	var out bytes.Buffer
	report, err := canary.Run(ctx, canary.Config{URL: e.srv.URL, APIKey: adminKey, SessionA: "canary-a", SessionB: "canary-b",
		Timeout: 20 * time.Second, Poll: 20 * time.Millisecond}, &out)
	t.Logf("canary:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range report.Steps {
		names = append(names, s.Name)
	}
	for _, want := range []string{"send text", "receive text", "send reply", "receive reply", "send image", "receive image",
		"send video", "receive video", "send audio", "receive audio", "send voice", "receive voice", "send document",
		"receive document", "send sticker", "receive sticker", "send location", "receive location", "send contact",
		"receive contact", "send reaction", "receive reaction", "send poll", "receive poll", "ack delivered", "revoke",
		"group create", "group send", "group receive", "group leave"} {
		if !strings.Contains(","+strings.Join(names, ",")+",", ","+want+",") {
			t.Errorf("no step %q in %v", want, names)
		}
	}
	if report.Failed != 0 || report.Passed != len(report.Steps) ||
		!strings.HasSuffix(out.String(), fmt.Sprintf("canary: %d passed, 0 failed\n", len(report.Steps))) {
		t.Fatalf("report %d passed, %d failed", report.Passed, report.Failed)
	}
	noFakeErrors(t, srv)
}

// The canary fails, saying what is missing, when the second account never
// receives: two mock sessions deliver to nobody but each other's ledger.
func TestCanaryReportsWhatDidNotArrive(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	for _, id := range []string{"mock-a", "mock-b"} {
		e.expect(e.do("POST", "/api/sessions", map[string]any{"id": id, "engine": "mock"}), 201, "")
		e.waitStatus(id, "READY")
	}
	var out bytes.Buffer
	report, err := canary.Run(context.Background(), canary.Config{URL: e.srv.URL, APIKey: adminKey, SessionA: "mock-a",
		SessionB: "mock-b", Timeout: 300 * time.Millisecond, Poll: 20 * time.Millisecond}, &out)
	t.Logf("canary:\n%s", out.String())
	if !errors.Is(err, canary.ErrFailed) {
		t.Fatalf("err %v\n%s", err, out.String())
	}
	steps := map[string]canary.Step{}
	for _, s := range report.Steps {
		steps[s.Name] = s
	}
	if s := steps["send text"]; !s.OK {
		t.Fatalf("send text: %+v", s)
	}
	if s := steps["receive text"]; s.OK || !strings.Contains(s.Detail, "session mock-b has no message") {
		t.Fatalf("receive text: %+v", s)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(report.Steps)+1 || !strings.HasPrefix(lines[0], "session A") {
		t.Fatalf("output:\n%s", out.String())
	}
	for _, l := range lines {
		if strings.HasPrefix(l, "receive text ") && !strings.Contains(l, " FAIL ") {
			t.Fatalf("line %q", l)
		}
	}
	if want := fmt.Sprintf("canary: %d passed, %d failed", report.Passed, report.Failed); lines[len(lines)-1] != want || report.Failed < 12 {
		t.Fatalf("summary %q, want %q", lines[len(lines)-1], want)
	}
}
