package httpapi_test

import (
	"fmt"
	"testing"
	"time"
)

// An engine may report an ack before its Send returns. The ack waits until the
// send is recorded: no message reads delivered without its send (timestamp,
// message.sent) and message.sent always comes before the message's acks.
func TestAcksNeverOvertakeTheSend(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// ackDelayMs 0: the mock acks as soon as it has the message, racing the worker.
	e.expect(e.do("POST", "/api/sessions", map[string]any{"id": "s", "engine": "mock",
		"config": map[string]any{"mock": map[string]any{"pairDelayMs": 20, "ackDelayMs": 0}}}), 201, "")
	e.waitStatus("s", "READY")
	const n = 20
	var ids []string
	for i := range n {
		r := e.do("POST", "/api/sessions/s/messages/send-text?async=true", map[string]any{"chatId": "6281234567890", "text": fmt.Sprint(i)})
		e.expect(r, 202, "")
		ids = append(ids, r.data()["id"].(string))
	}
	var last time.Time
	for i, id := range ids {
		m := e.waitMessage("s", id, "read")
		ts, err := time.Parse(time.RFC3339Nano, m["timestamp"].(string))
		if err != nil || ts.Before(last) {
			t.Fatalf("message %d: timestamp %v, createdAt %v, previous sent at %s", i, m["timestamp"], m["createdAt"], last)
		}
		last = ts
	}
	evs, _ := e.events("after=0&limit=1000&events=message.sent,message.ack")
	sent := map[string]bool{}
	acks := map[string]int{}
	for _, ev := range evs {
		d := ev["data"].(map[string]any)
		id := d["id"].(string)
		switch ev["event"] {
		case "message.sent":
			if acks[id] > 0 {
				t.Errorf("message.sent of %s after its ack", id)
			}
			sent[id] = true
		case "message.ack":
			if !sent[id] || d["previousStatus"] == "sending" {
				t.Errorf("ack %v of %s before its send was recorded", d["status"], id)
			}
			acks[id]++
		}
	}
	for _, id := range ids {
		if !sent[id] || acks[id] != 2 {
			t.Errorf("%s: sent %v, %d acks; want message.sent and 2 acks", id, sent[id], acks[id])
		}
	}
}
