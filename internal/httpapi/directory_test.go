package httpapi_test

import (
	"fmt"
	"github.com/openwa/openwa/internal/testutil"
	"strings"
	"testing"
	"time"
)

// waitEvents waits for at least n events of a kind in the event log and returns them all.
func waitEvents(t *testing.T, e *env, name string, n int) []map[string]any {
	t.Helper()
	var evs []map[string]any
	testutil.Eventually(t, 10*time.Second, func() bool {
		evs, _ = e.events("after=0&limit=1000&events=" + name)
		return len(evs) >= n
	}, "%d %s events; got %v", n, name, &evs)
	return evs
}

// Contacts through the API on the mock engine: list, search, pages, one,
// "on WhatsApp?", picture, block and unblock, and every bad input.
func TestContacts(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("book", true)
	e.waitStatus("book", "READY")

	r := e.do("GET", "/api/sessions/book/contacts", nil)
	e.expect(r, 200, "")
	if len(r.list()) != 3 || r.Body["pagination"].(map[string]any)["total"] != float64(3) {
		t.Fatalf("contacts: %s", r.Raw)
	}
	r = e.do("GET", "/api/sessions/book/contacts?search=BO", nil)
	if l := r.list(); len(l) != 1 || l[0].(map[string]any)["name"] != "Bob" {
		t.Fatalf("search: %s", r.Raw)
	}
	r = e.do("GET", "/api/sessions/book/contacts?limit=2&page=2", nil)
	if l := r.list(); len(l) != 1 || l[0].(map[string]any)["name"] != "Carol" {
		t.Fatalf("page 2: %s", r.Raw)
	}
	if l := e.do("GET", "/api/sessions/book/contacts?page=9", nil).list(); len(l) != 0 {
		t.Fatalf("past the end: %v", l)
	}
	// Any way of writing the number finds the contact, answered canonical.
	for _, id := range []string{"15550000001", "+1 555-000-0001", "15550000001@c.us", "15550000001@s.whatsapp.net"} {
		r = e.do("GET", "/api/sessions/book/contacts/"+id, nil)
		e.expect(r, 200, "")
		if r.data()["id"] != "15550000001@s.whatsapp.net" || r.data()["name"] != "Alice" {
			t.Fatalf("%s: %s", id, r.Raw)
		}
	}
	e.expect(e.do("GET", "/api/sessions/book/contacts/15559999999", nil), 404, "CONTACT_NOT_FOUND")
	e.expect(e.do("GET", "/api/sessions/book/contacts/not-a-number", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/book/contacts/120363000000000001@g.us", nil), 400, "VALIDATION_ERROR")

	r = e.do("GET", "/api/sessions/book/contacts/check/+62 812 3456 7890", nil)
	e.expect(r, 200, "")
	if r.data()["exists"] != true || r.data()["jid"] != "6281234567890@s.whatsapp.net" {
		t.Fatalf("check: %s", r.Raw)
	}
	r = e.do("GET", "/api/sessions/book/contacts/check/6281234567404", nil) // the mock's numbers ending in 404 have no account
	if r.data()["exists"] != false || r.data()["jid"] != nil {
		t.Fatalf("check: %s", r.Raw)
	}
	r = e.do("GET", "/api/sessions/book/contacts/check/12", nil)
	e.expect(r, 400, "VALIDATION_ERROR")
	if f := r.errDetails()["fields"].([]any)[0].(map[string]any); f["field"] != "phone" || strings.Contains(f["message"].(string), "JID") {
		t.Fatalf("error: %s", r.Raw)
	}

	r = e.do("GET", "/api/sessions/book/contacts/15550000001/profile-picture", nil)
	e.expect(r, 200, "")
	if _, ok := r.data()["url"]; !ok || r.data()["url"] != nil {
		t.Fatalf("picture: %s", r.Raw)
	}
	e.expect(e.do("GET", "/api/sessions/book/contacts/15559999999/profile-picture", nil), 404, "CONTACT_NOT_FOUND")
	e.expect(e.do("GET", "/api/sessions/book/contacts/15550000001/avatar", nil), 404, "NOT_FOUND")

	e.expect(e.do("POST", "/api/sessions/book/contacts/15550000002/block", nil), 200, "")
	if e.do("GET", "/api/sessions/book/contacts/15550000002", nil).data()["isBlocked"] != true {
		t.Fatal("not blocked")
	}
	e.expect(e.do("POST", "/api/sessions/book/contacts/15550000002/unblock", nil), 200, "")
	if e.do("GET", "/api/sessions/book/contacts/15550000002", nil).data()["isBlocked"] != false {
		t.Fatal("still blocked")
	}

	// A session that is not READY, one that does not exist, a key for another session.
	e.createSession("idle", false)
	e.waitStatus("idle", "QR_READY")
	e.expect(e.do("GET", "/api/sessions/idle/contacts", nil), 400, "SESSION_NOT_READY")
	e.expect(e.do("GET", "/api/sessions/nobody/contacts", nil), 404, "SESSION_NOT_FOUND")
	key := e.do("POST", "/api/keys", map[string]any{"name": "other", "role": "session", "sessions": []string{"idle"}}).data()["key"].(string)
	e.expect(e.do("GET", "/api/sessions/book/contacts", nil, withKey(key)), 403, "FORBIDDEN")
}

// Groups through the API on the mock engine: the whole life of a group, and every bad input.
func TestGroupRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("g", true)
	e.waitStatus("g", "READY")

	if l := e.do("GET", "/api/sessions/g/groups", nil).list(); len(l) != 1 {
		t.Fatalf("groups: %v", l)
	}
	r := e.do("POST", "/api/sessions/g/groups", map[string]any{"name": "Team", "participants": []string{"+1 555 000 0002"}})
	e.expect(r, 201, "")
	g := r.data()
	id := g["id"].(string)
	if g["subject"] != "Team" || len(g["participants"].([]any)) != 2 {
		t.Fatalf("created: %s", r.Raw)
	}
	member := func(g map[string]any, jid string) map[string]any {
		for _, p := range g["participants"].([]any) {
			if p.(map[string]any)["id"] == jid {
				return p.(map[string]any)
			}
		}
		return nil
	}
	// Each participant's outcome, as WhatsApp answers it: added, already
	// there (409), invited instead (403, the person's privacy settings), no account (404).
	r = e.do("POST", "/api/sessions/g/groups/"+id+"/participants/add",
		map[string]any{"participants": []string{"15550000003", "15550000002", "15550009403", "15550009404"}})
	e.expect(r, 200, "")
	results := r.list()
	got := func(i int) string {
		p := results[i].(map[string]any)
		return fmt.Sprint(p["participant"], " ", p["status"], " ", p["code"])
	}
	if len(results) != 4 || got(0) != "15550000003@s.whatsapp.net added 200" || got(1) != "15550000002@s.whatsapp.net failed 409" ||
		got(2) != "15550009403@s.whatsapp.net invited 403" || results[2].(map[string]any)["inviteLink"] == nil || got(3) != "15550009404@s.whatsapp.net failed 404" {
		t.Fatalf("add: %s", r.Raw)
	}
	if member(e.do("GET", "/api/sessions/g/groups/"+id, nil).data(), "15550000003@s.whatsapp.net") == nil {
		t.Fatal("not added")
	}
	r = e.do("POST", "/api/sessions/g/groups/"+id+"/participants/promote", map[string]any{"participants": []string{"15550000003"}})
	e.expect(r, 200, "")
	if m := member(e.do("GET", "/api/sessions/g/groups/"+id, nil).data(), "15550000003@s.whatsapp.net"); m == nil || m["isAdmin"] != true {
		t.Fatalf("promote: %s", r.Raw)
	}
	r = e.do("POST", "/api/sessions/g/groups/"+id+"/participants/remove", map[string]any{"participants": []string{"15550000002@c.us"}})
	if !strings.Contains(string(r.Raw), `"status":"removed"`) || member(e.do("GET", "/api/sessions/g/groups/"+id, nil).data(), "15550000002@s.whatsapp.net") != nil {
		t.Fatalf("remove: %s", r.Raw)
	}
	r = e.do("PUT", "/api/sessions/g/groups/"+id, map[string]any{"subject": "Team B", "description": "plans"})
	e.expect(r, 200, "")
	if r.data()["subject"] != "Team B" || r.data()["description"] != "plans" {
		t.Fatalf("update: %s", r.Raw)
	}
	if got := e.do("GET", "/api/sessions/g/groups/"+id, nil).data(); got["subject"] != "Team B" {
		t.Fatalf("get: %v", got)
	}
	// Each change is a group.updated event: the group as it is after, and what changed.
	var changes []string
	for _, ev := range waitEvents(t, e, "group.updated", 5) {
		d := ev["data"].(map[string]any)
		if d["id"] != id {
			t.Fatalf("event of another group: %v", d)
		}
		for _, c := range d["changed"].([]any) {
			changes = append(changes, c.(string))
		}
		if strings.Contains(strings.Join(changes, ","), "subject") && d["subject"] != "Team B" {
			t.Fatalf("subject change reported with %v", d["subject"])
		}
	}
	if got := strings.Join(changes, ","); got != "joined,participants,participants,participants,subject,description" {
		t.Fatalf("changes %s", got)
	}
	link := e.do("GET", "/api/sessions/g/groups/"+id+"/invite-link", nil).data()["url"]
	r = e.do("DELETE", "/api/sessions/g/groups/"+id+"/invite-link", nil)
	e.expect(r, 200, "")
	if link == nil || r.data()["url"] == link {
		t.Fatalf("revoke kept the link %v", link)
	}
	e.expect(e.do("POST", "/api/sessions/g/groups/"+id+"/leave", nil), 200, "")
	e.expect(e.do("GET", "/api/sessions/g/groups/"+id, nil), 404, "GROUP_NOT_FOUND")
	e.expect(e.do("POST", "/api/sessions/g/groups/"+id+"/leave", nil), 404, "GROUP_NOT_FOUND")

	for _, c := range []struct {
		method, path string
		body         any
		field        string
	}{
		{"GET", "/api/sessions/g/groups/15550000001", nil, "groupId"},
		{"POST", "/api/sessions/g/groups", map[string]any{"name": "x", "participants": []string{}}, "participants"},
		{"POST", "/api/sessions/g/groups", map[string]any{"name": "", "participants": []string{"15550000002"}}, "name"},
		{"POST", "/api/sessions/g/groups", map[string]any{"name": "x", "participants": []string{"not a phone"}}, "participants"},
		{"POST", "/api/sessions/g/groups", map[string]any{"name": "x", "participants": []string{"120363000000000001@g.us"}}, "participants"},
		{"POST", "/api/sessions/g/groups", map[string]any{"name": "x", "participants": []string{"120363111111111111@newsletter"}}, "participants"},
		{"PUT", "/api/sessions/g/groups/120363000000000001@g.us", map[string]any{}, "body"},
		{"POST", "/api/sessions/g/groups/120363000000000001@g.us/participants/kick", map[string]any{"participants": []string{"15550000002"}}, "action"},
	} {
		r := e.do(c.method, c.path, c.body)
		e.expect(r, 400, "VALIDATION_ERROR")
		if f, _ := r.errDetails()["fields"].([]any); len(f) == 0 || f[0].(map[string]any)["field"] != c.field {
			t.Fatalf("%s %s: %s", c.method, c.path, r.Raw)
		}
	}
}

// Chats: the most recently active first, each with its last message and
// what is unread; reading a chat through the API clears its unread count.
func TestChats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("c", true)
	e.waitStatus("c", "READY")
	in := func(from, text string) string {
		r := e.do("POST", "/api/sessions/c/mock/inbound", map[string]any{"from": from, "text": text})
		e.expect(r, 202, "")
		return r.data()["waMessageId"].(string)
	}
	a1 := in("6281234567890", "one")
	time.Sleep(5 * time.Millisecond) // distinct timestamps order the chats
	a2 := in("6281234567890", "two")
	time.Sleep(5 * time.Millisecond)
	in("6289876543210", "from bob")
	time.Sleep(5 * time.Millisecond)
	e.expect(e.do("POST", "/api/sessions/c/messages/send-text", map[string]any{"chatId": "6281234567890", "text": "reply"}), 201, "")
	var chats []any
	for deadline := time.Now().Add(10 * time.Second); len(chats) < 2 || chats[0].(map[string]any)["messageCount"] != float64(3); time.Sleep(20 * time.Millisecond) {
		chats = e.do("GET", "/api/sessions/c/chats", nil).list()
		if time.Now().After(deadline) {
			t.Fatalf("chats: %v", chats)
		}
	}
	alice, bob := chats[0].(map[string]any), chats[1].(map[string]any)
	if alice["id"] != "6281234567890@s.whatsapp.net" || alice["unreadCount"] != float64(2) ||
		alice["lastMessage"].(map[string]any)["text"] != "reply" || alice["isGroup"] != false {
		t.Fatalf("alice's chat: %v", alice)
	}
	if bob["id"] != "6289876543210@s.whatsapp.net" || bob["unreadCount"] != float64(1) {
		t.Fatalf("bob's chat: %v", bob)
	}
	if r := e.do("GET", "/api/sessions/c/chats?limit=1&page=2", nil); len(r.list()) != 1 || r.Body["pagination"].(map[string]any)["total"] != float64(2) {
		t.Fatalf("page 2: %s", r.Raw)
	}
	msgs := e.do("GET", "/api/sessions/c/chats/+62 812-3456-7890/messages", nil).list()
	if len(msgs) != 3 || msgs[0].(map[string]any)["text"] != "reply" {
		t.Fatalf("alice's messages: %v", msgs)
	}
	e.expect(e.do("GET", "/api/sessions/c/chats/nonsense/messages", nil), 400, "VALIDATION_ERROR")
	e.expect(e.do("GET", "/api/sessions/nobody/chats", nil), 404, "SESSION_NOT_FOUND")

	// Reading alice's chat: her two messages are read (message.ack each), bob's stays unread.
	e.expect(e.do("POST", "/api/sessions/c/chats/6281234567890/read", map[string]any{"messageIds": []string{a1, a2}}), 200, "")
	chats = e.do("GET", "/api/sessions/c/chats", nil).list()
	if chats[0].(map[string]any)["unreadCount"] != float64(0) || chats[1].(map[string]any)["unreadCount"] != float64(1) {
		t.Fatalf("after reading: %v", chats)
	}
	acks, _ := e.events("after=0&limit=1000&events=message.ack")
	read := 0
	for _, ev := range acks {
		if d := ev["data"].(map[string]any); d["status"] == "read" && (d["waMessageId"] == a1 || d["waMessageId"] == a2) {
			read++
		}
	}
	if read != 2 {
		t.Fatalf("%d read acks for alice's messages: %v", read, acks)
	}
}

// Chat actions: read receipts by OpenWA or WhatsApp id, and presence.
func TestChatActions(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("c", true)
	e.waitStatus("c", "READY")
	sent := e.do("POST", "/api/sessions/c/messages/send-text", map[string]any{"chatId": "15550000001", "text": "hi"}).data()
	e.expect(e.do("POST", "/api/sessions/c/chats/15550000001/read", map[string]any{"messageIds": []string{sent["id"].(string), "3EB0ANY"}}), 200, "")
	e.expect(e.do("POST", "/api/sessions/c/chats/15550000001/read", map[string]any{"messageIds": []string{"msg_000000000000000000000000"}}), 404, "MESSAGE_NOT_FOUND")
	e.expect(e.do("POST", "/api/sessions/c/chats/15550000001/read", map[string]any{"messageIds": []string{}}), 400, "VALIDATION_ERROR")
	for _, st := range []string{"typing", "recording", "paused"} {
		e.expect(e.do("POST", "/api/sessions/c/chats/15550000001@c.us/presence", map[string]any{"state": st}), 200, "")
	}
	e.expect(e.do("POST", "/api/sessions/c/chats/15550000001/presence", map[string]any{"state": "dancing"}), 400, "VALIDATION_ERROR")
	e.expect(e.do("POST", "/api/sessions/c/chats/nonsense/presence", map[string]any{"state": "typing"}), 400, "VALIDATION_ERROR")
}
