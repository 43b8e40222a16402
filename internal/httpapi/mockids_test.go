package httpapi_test

import (
	"regexp"
	"testing"
	"time"
)

// inboundTexts polls the session's received messages until there are n, and returns their texts.
func (e *env) inboundTexts(session string, n int) []string {
	e.t.Helper()
	var texts []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		texts = texts[:0]
		for _, m := range e.do("GET", "/api/sessions/"+session+"/messages?direction=in&limit=100", nil).list() {
			texts = append(texts, m.(map[string]any)["text"].(string))
		}
		if len(texts) >= n || time.Now().After(deadline) {
			break
		}
	}
	if len(texts) != n {
		e.t.Fatalf("received messages %q, want %d", texts, n)
	}
	return texts
}

// The mock engine's ids are random, like WhatsApp's: after a restart new
// messages are not mistaken for redeliveries and new groups get new JIDs. A
// redelivery the client asks for by id is answered 409, not 202.
func TestMockIdsAreUniqueAcrossRestarts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	msgID := regexp.MustCompile(`^3EB0[0-9A-F]{20}$`)
	groupJID := regexp.MustCompile(`^120363\d{12}@g\.us$`)

	r := e.do("POST", "/api/sessions/s/groups", map[string]any{"name": "Before", "participants": []string{"15550000001"}})
	e.expect(r, 201, "")
	before := r.data()["id"].(string)
	r = e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": "before"})
	e.expect(r, 202, "")
	first := r.data()["waMessageId"].(string)
	e.expect(e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "15550000001", "chatId": before, "text": "in the old group"}), 202, "")
	e.inboundTexts("s", 2)

	e.restart()
	e.waitStatus("s", "READY")
	r = e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": "after"})
	e.expect(r, 202, "")
	second := r.data()["waMessageId"].(string)
	if !msgID.MatchString(first) || !msgID.MatchString(second) || first == second {
		t.Fatalf("message ids %q and %q: want distinct ids like 3EB0 and 20 hex digits", first, second)
	}
	e.inboundTexts("s", 3)
	if evs, _ := e.events("after=0&events=message.received"); len(evs) != 3 {
		t.Fatalf("%d message.received events, want 3", len(evs))
	}

	r = e.do("POST", "/api/sessions/s/groups", map[string]any{"name": "After", "participants": []string{"15550000001"}})
	e.expect(r, 201, "")
	after := r.data()["id"].(string)
	if !groupJID.MatchString(before) || !groupJID.MatchString(after) || before == after {
		t.Fatalf("group JIDs %q and %q: want distinct random ones", before, after)
	}
	if l := e.do("GET", "/api/sessions/s/chats/"+after+"/messages", nil).list(); len(l) != 0 {
		t.Fatalf("the new group inherited messages: %v", l)
	}

	t.Run("a redelivery by id is a conflict, not accepted", func(t *testing.T) {
		r := e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"id": second, "from": "6281234567890", "text": "again"})
		e.expect(r, 409, "CONFLICT")
		if r.errDetails()["waMessageId"] != second || r.errDetails()["messageId"] == nil {
			t.Fatalf("details %v", r.errDetails())
		}
		r = e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"id": "3EB0AAAAAAAAAAAAAAAAAAAA", "from": "6281234567890", "text": "chosen"})
		e.expect(r, 202, "")
		if r.data()["waMessageId"] != "3EB0AAAAAAAAAAAAAAAAAAAA" {
			t.Fatalf("chosen id not kept: %v", r.data())
		}
		e.inboundTexts("s", 4)
		e.expect(e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"id": "not/an id", "from": "6281234567890", "text": "x"}), 400, "VALIDATION_ERROR")
	})
}
