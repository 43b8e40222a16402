package httpapi_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

// stampRE is the one form of a time OpenWA writes (API.md, "Basics").
var stampRE = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)

// looksLikeTime matches any string that starts like an RFC 3339 time.
var looksLikeTime = regexp.MustCompile(`^\d{4}-\d\d-\d\dT`)

// checkTimes walks a decoded JSON value and fails for every time not written
// as stampRE: values of keys named "timestamp" or ending in "At", and any
// string that starts like a date. It returns how many times it checked.
func checkTimes(t *testing.T, where string, v any) int {
	t.Helper()
	n := 0
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				if s, ok := c.(string); ok && (k == "timestamp" || strings.HasSuffix(k, "At")) && !stampRE.MatchString(s) {
					t.Errorf("%s: %s.%s = %q, want a time like 2026-01-01T10:00:00.320Z", where, path, k, s)
				}
				walk(path+"."+k, c)
			}
		case []any:
			for _, c := range x {
				walk(path+"[]", c)
			}
		case string:
			if looksLikeTime.MatchString(x) {
				n++
				if !stampRE.MatchString(x) {
					t.Errorf("%s: %s = %q, want a time like 2026-01-01T10:00:00.320Z", where, path, x)
				}
			}
		}
	}
	walk("", v)
	return n
}

// Every time in responses, events and webhook payloads has exactly three
// fractional digits, trailing zeros included, so that string order is time order.
func TestTimestampsHaveThreeFractionalDigits(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.createSession("q", false)
	e.waitStatus("s", "READY")
	e.waitStatus("q", "QR_READY")
	rcv := newReceiver(t)
	wh := e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})
	e.inbound("s", 1)
	sent := e.do("POST", "/api/sessions/s/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "out"})
	e.expect(sent, 201, "")
	e.waitMessage("s", sent.data()["id"].(string), "read")
	rcv.wait(t, 1)
	e.do("POST", "/api/sessions/s/groups", map[string]any{"name": "Team", "participants": []string{"15550000001"}})

	// Times whose milliseconds end in zeros: encoding/json would write .32Z and drop .000 altogether.
	db := e.rawDB()
	if _, err := db.Exec(`UPDATE messages SET timestamp = 1767261600320, created_at = 1767261600000, updated_at = 1767261600300
		WHERE session_id = 's'`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE events SET created_at = 1767261617000 WHERE name = 'message.received'`); err != nil {
		t.Fatal(err)
	}
	msgs := e.do("GET", "/api/sessions/s/messages", nil).list()
	for _, m := range msgs {
		m := m.(map[string]any)
		if m["timestamp"] != "2026-01-01T10:00:00.320Z" || m["createdAt"] != "2026-01-01T10:00:00.000Z" || m["updatedAt"] != "2026-01-01T10:00:00.300Z" {
			t.Fatalf("message times %v %v %v", m["timestamp"], m["createdAt"], m["updatedAt"])
		}
	}
	received, _ := e.events("after=0&events=message.received")
	if len(received) != 1 || received[0]["timestamp"] != "2026-01-01T10:00:17.000Z" {
		t.Fatalf("event log: %v", received)
	}
	// The webhook payload is the event as the log holds it.
	hook := "/api/sessions/s/webhooks/" + wh["id"].(string)
	d := e.waitDelivery(hook, "delivered")
	e.expect(e.do("POST", hook+"/deliveries/"+d["id"].(string)+"/retry", nil), 200, "")
	var payload map[string]any
	if err := json.Unmarshal(rcv.wait(t, 2)[1].Body, &payload); err != nil {
		t.Fatal(err)
	}
	if payload["timestamp"] != "2026-01-01T10:00:17.000Z" {
		t.Fatalf("webhook payload timestamp %v", payload["timestamp"])
	}

	checked := 0
	for _, w := range rcv.wait(t, 2) {
		var v any
		if err := json.Unmarshal(w.Body, &v); err != nil {
			t.Fatal(err)
		}
		checked += checkTimes(t, "webhook payload", v)
	}
	for _, path := range []string{"/api/sessions", "/api/sessions/s", "/api/sessions/q/qr", "/api/sessions/s/messages",
		"/api/events?after=0&limit=1000", "/api/keys", "/api/audit", "/api/sessions/s/webhooks", hook + "/deliveries",
		"/api/sessions/s/groups", "/api/sessions/s/chats", "/api/sessions/nope", "/health"} {
		r := e.do("GET", path, nil)
		if r.Body == nil {
			t.Fatalf("%s: no JSON: %d %s", path, r.Status, r.Raw)
		}
		checked += checkTimes(t, path, r.Body)
	}
	if checked < 50 {
		t.Fatalf("checked only %d times", checked)
	}

	// The OpenAPI document still calls them date-times.
	var doc map[string]any
	if err := json.Unmarshal(e.do("GET", "/openapi.json", nil).Raw, &doc); err != nil {
		t.Fatal(err)
	}
	schemas := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for _, name := range []string{"Message", "Session", "Meta", "Webhook", "Delivery"} {
		s, _ := schemas[name].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		for field, p := range props {
			if field == "timestamp" || strings.HasSuffix(field, "At") {
				p := p.(map[string]any)
				if p["format"] != "date-time" || !strings.Contains(fmt.Sprint(p["type"]), "string") {
					t.Errorf("OpenAPI %s.%s = %v, want a string with format date-time", name, field, p)
				}
			}
		}
		if len(props) == 0 {
			t.Errorf("OpenAPI has no schema %s", name)
		}
	}
}
