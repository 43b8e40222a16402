// Package canary drives a running OpenWA through its public HTTP API only,
// with two paired sessions of two accounts that can write to each other:
// account A sends every message type to account B, B must receive each, A's
// messages must be acknowledged as delivered, a revoke must reach B, and a
// group made of A and B must carry a message. Each step is reported as one
// line. Because it uses nothing but the API, the same code checks an OpenWA
// on the fake WhatsApp server in CI and one on real WhatsApp.
package canary

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config says which OpenWA to drive and with which sessions.
type Config struct {
	URL      string // OpenWA's base URL, e.g. http://localhost:2785
	APIKey   string
	SessionA string // sends
	SessionB string // receives; another account than A
	// Timeout bounds each wait: for a message to arrive, an ack, a revoke.
	Timeout time.Duration
	// Poll is the interval between two looks while waiting (default 250 ms).
	Poll   time.Duration
	Client *http.Client // default: one with a 60 s request timeout
}

// Step is one checked step.
type Step struct {
	Name     string
	OK       bool
	Duration time.Duration
	Detail   string
}

// Report is what a run found.
type Report struct {
	Steps          []Step
	Passed, Failed int
}

// ErrFailed is returned by Run when a step failed.
var ErrFailed = errors.New("canary failed")

// Run runs every step, writing one line per step to out and a summary line
// at the end; it returns ErrFailed (wrapped) when any step failed, and the
// report either way.
func Run(ctx context.Context, cfg Config, out io.Writer) (Report, error) {
	if cfg.URL == "" || cfg.SessionA == "" || cfg.SessionB == "" {
		return Report{}, errors.New("canary needs a URL and two sessions")
	}
	if cfg.SessionA == cfg.SessionB {
		return Report{}, errors.New("canary needs two different sessions")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 60 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 60 * time.Second}
	}
	r := &run{cfg: cfg, out: out, api: &client{http: cfg.Client, base: trimURL(cfg.URL), key: cfg.APIKey},
		sent: map[string]*sent{},
		// A margin for the clocks of this host, OpenWA and WhatsApp to differ.
		start: time.Now().UTC().Add(-10 * time.Minute)}
	r.all(ctx)
	fmt.Fprintf(out, "canary: %d passed, %d failed\n", r.report.Passed, r.report.Failed)
	if r.report.Failed > 0 {
		return r.report, fmt.Errorf("%w: %d of %d steps", ErrFailed, r.report.Failed, r.report.Passed+r.report.Failed)
	}
	return r.report, nil
}

// run is the state of one canary run.
type run struct {
	cfg    Config
	out    io.Writer
	api    *client
	report Report
	start  time.Time // B's messages are looked for from here on

	jidA, jidB string // the accounts' phone JIDs
	lidA       string // A's LID: B names A by it where it does not know A's number
	phoneB     string
	sent       map[string]*sent // by kind: what A sent
	order      []string
	group      string
}

// sent is a message A sent, and what B must see of it.
type sent struct {
	msg   message
	want  string // B's message type
	check func(m message) error
	media []byte // the bytes B must be able to download
}

// skip is returned by a step that cannot run because an earlier one failed.
type skip string

func (s skip) Error() string { return "skipped: " + string(s) }

// step runs f, timing it, and reports it. f returns its detail on success.
func (r *run) step(ctx context.Context, name string, f func(ctx context.Context) (string, error)) bool {
	t0 := time.Now()
	detail, err := f(ctx)
	s := Step{Name: name, OK: err == nil, Duration: time.Since(t0).Round(time.Millisecond), Detail: detail}
	if err != nil {
		s.Detail = err.Error()
		r.report.Failed++
	} else {
		r.report.Passed++
	}
	r.report.Steps = append(r.report.Steps, s)
	status := "ok"
	if !s.OK {
		status = "FAIL"
	}
	fmt.Fprintf(r.out, "%-22s %-4s %8s  %s\n", s.Name, status, s.Duration, oneLine(s.Detail))
	return s.OK
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// wait polls cond until it is done, fails for good, or the timeout passes.
// cond returns (detail, true, nil) when done; (_, false, err) to go on
// waiting (err says what is still missing); an error of type *final stops.
func (r *run) wait(ctx context.Context, cond func(ctx context.Context) (string, bool, error)) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	missing := errors.New("not yet")
	for {
		detail, done, err := cond(ctx)
		if done {
			return detail, nil
		}
		var f *final
		if errors.As(err, &f) {
			return "", f.err
		}
		if err != nil && ctx.Err() == nil { // not the deadline cutting a request short
			missing = err
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("after %s: %w", r.cfg.Timeout, missing)
		case <-tick.C:
		}
	}
}

// final stops a wait at once.
type final struct{ err error }

func (f *final) Error() string { return f.err.Error() }

// all runs the steps in order; a step whose prerequisite failed is reported
// as failed (skipped), so the summary counts every check.
func (r *run) all(ctx context.Context) {
	ready := r.step(ctx, "session A", func(ctx context.Context) (string, error) {
		me, err := r.ready(ctx, r.cfg.SessionA)
		r.jidA, r.lidA = me.ID, me.LID
		return me.ID, err
	})
	ready = r.step(ctx, "session B", func(ctx context.Context) (string, error) {
		me, err := r.ready(ctx, r.cfg.SessionB)
		jid := me.ID
		r.jidB, r.phoneB = jid, strings.TrimSuffix(jid, "@s.whatsapp.net")
		if err == nil && jid == r.jidA {
			return "", fmt.Errorf("sessions %s and %s are the same account %s: B must be another number", r.cfg.SessionA, r.cfg.SessionB, jid)
		}
		return jid, err
	}) && ready
	r.step(ctx, "check number", func(ctx context.Context) (string, error) {
		if !ready {
			return "", skip("sessions not ready")
		}
		return r.checkNumber(ctx)
	})
	for _, k := range kinds {
		r.step(ctx, "send "+k.name, func(ctx context.Context) (string, error) {
			if !ready {
				return "", skip("sessions not ready")
			}
			return r.send(ctx, k)
		})
	}
	for _, k := range kinds {
		r.step(ctx, "receive "+k.name, func(ctx context.Context) (string, error) { return r.receive(ctx, k.name) })
	}
	r.step(ctx, "ack delivered", r.ackDelivered)
	r.step(ctx, "revoke", r.revoke)
	r.groupSteps(ctx, ready)
}

// ready checks that a session is READY and answers its account.
func (r *run) ready(ctx context.Context, id string) (account, error) {
	var s session
	if err := r.api.do(ctx, http.MethodGet, sessionPath(id), nil, &s); err != nil {
		return account{}, fmt.Errorf("session %s: %w", id, err)
	}
	if s.Status != "READY" {
		return account{}, fmt.Errorf("session %s is %s, not READY: pair it first (QR code at GET %s/qr)", id, s.Status, sessionPath(id))
	}
	var me account
	if err := r.api.do(ctx, http.MethodGet, sessionPath(id)+"/me", nil, &me); err != nil {
		return account{}, fmt.Errorf("session %s: %w", id, err)
	}
	if me.ID == "" {
		return account{}, fmt.Errorf("session %s names no account", id)
	}
	return me, nil
}

// checkNumber asks A's WhatsApp whether B's number has an account.
func (r *run) checkNumber(ctx context.Context) (string, error) {
	var c struct {
		Exists bool   `json:"exists"`
		JID    string `json:"jid"`
	}
	if err := r.api.do(ctx, http.MethodGet, sessionPath(r.cfg.SessionA)+"/contacts/check/"+r.phoneB, nil, &c); err != nil {
		return "", err
	}
	if !c.Exists {
		return "", fmt.Errorf("%s is not on WhatsApp, says session %s", r.phoneB, r.cfg.SessionA)
	}
	return c.JID, nil
}

// messages lists a session's messages since the run started, newest first.
func (r *run) messages(ctx context.Context, sessionID, direction string) ([]message, error) {
	q := url.Values{"limit": {"100"}, "direction": {direction}, "since": {r.start.Format(time.RFC3339)}}
	var list []message
	err := r.api.do(ctx, http.MethodGet, sessionPath(sessionID)+"/messages?"+q.Encode(), nil, &list)
	return list, err
}

// fromA tells whether B names the sender as account A: by phone JID, or by
// LID where B's WhatsApp gave no number.
func (r *run) fromA(from string) bool { return from == r.jidA || (r.lidA != "" && from == r.lidA) }
