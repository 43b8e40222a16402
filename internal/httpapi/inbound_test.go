package httpapi_test

import (
	"fmt"
	"testing"
)

// POST …/mock/inbound answers once the message is committed: its row, its
// message.received event and its webhook delivery are in the database when
// the answer arrives, so a kill -9 right after the answer loses nothing.
func TestMockInboundAnswersAfterCommit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"WEBHOOK_ALLOW_PRIVATE": "true"})
	e.createSession("s", true)
	e.waitStatus("s", "READY")
	rcv := newReceiver(t)
	e.createWebhook("/api/sessions/s/webhooks", map[string]any{"url": rcv.srv.URL, "events": []string{"message.received"}})
	db := e.rawDB()
	for i := range 20 {
		r := e.do("POST", "/api/sessions/s/mock/inbound", map[string]any{"from": "6281234567890", "text": fmt.Sprint("m", i)})
		e.expect(r, 202, "")
		id := r.data()["waMessageId"].(string)
		var rows, evs, deliveries int
		err := db.QueryRow(`SELECT
			(SELECT COUNT(*) FROM messages WHERE wa_message_id = $1),
			(SELECT COUNT(*) FROM events WHERE name = 'message.received' AND data LIKE $2),
			(SELECT COUNT(*) FROM deliveries d JOIN events v ON v.seq = d.event_seq WHERE v.data LIKE $3)`,
			id, "%"+id+"%", "%"+id+"%").Scan(&rows, &evs, &deliveries)
		if err != nil {
			t.Fatal(err)
		}
		if rows != 1 || evs != 1 || deliveries != 1 {
			t.Fatalf("message %d answered with %d rows, %d events, %d deliveries committed; want 1 each", i, rows, evs, deliveries)
		}
	}
}
