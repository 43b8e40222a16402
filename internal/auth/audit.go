package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// AuditEntry is one audited call.
type AuditEntry struct {
	ID        int64      `json:"id"`
	KeyID     *string    `json:"keyId"`
	Action    string     `json:"action" doc:"Method and route, e.g. POST /api/sessions/{id}/start."`
	Target    string     `json:"target" doc:"The path acted on."`
	IP        string     `json:"ip"`
	Status    int        `json:"status" doc:"HTTP status of the response."`
	Outcome   string     `json:"outcome" enum:"success,failure"`
	RequestID string     `json:"requestId"`
	CreatedAt stamp.Time `json:"createdAt"`
}

// Audit records a call.
func (s *Service) Audit(ctx context.Context, e AuditEntry) error {
	row := &store.AuditEntry{Action: e.Action, Target: e.Target, IP: e.IP, Status: e.Status, Outcome: e.Outcome,
		RequestID: e.RequestID, CreatedAt: store.Now()}
	if e.KeyID != nil {
		row.KeyID = *e.KeyID
	}
	if err := s.st.AddAudit(ctx, row); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	return nil
}

// AuditLog returns a page of the audit log, newest first.
func (s *Service) AuditLog(ctx context.Context, limit, offset int) ([]*AuditEntry, int, error) {
	rows, total, err := s.st.ListAudit(ctx, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("read audit log: %w", err)
	}
	out := make([]*AuditEntry, len(rows))
	for i, r := range rows {
		e := &AuditEntry{ID: r.ID, Action: r.Action, Target: r.Target, IP: r.IP, Status: r.Status, Outcome: r.Outcome,
			RequestID: r.RequestID, CreatedAt: store.Time(r.CreatedAt)}
		if r.KeyID != "" {
			k := r.KeyID
			e.KeyID = &k
		}
		out[i] = e
	}
	return out, total, nil
}

// AuditRetention keeps the audit log to AUDIT_RETENTION_DAYS. Its Run is a
// background job owned by the app, like the event and message retention.
type AuditRetention struct {
	st   *store.Store
	keep time.Duration
	log  *slog.Logger
}

// NewAuditRetention returns the job; keep <= 0 keeps every row.
func NewAuditRetention(st *store.Store, keep time.Duration, log *slog.Logger) *AuditRetention {
	return &AuditRetention{st: st, keep: keep, log: log.With("component", "audit")}
}

// Run deletes the rows older than the retention period at once and every
// hour until ctx ends.
func (a *AuditRetention) Run(ctx context.Context) error {
	if a.keep <= 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := a.Cleanup(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.Error("audit retention", "err", err)
		} else if n > 0 {
			a.log.Info("old audit rows deleted", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Cleanup deletes the rows older than the retention period before now.
func (a *AuditRetention) Cleanup(ctx context.Context, now time.Time) (int64, error) {
	if a.keep <= 0 {
		return 0, nil
	}
	n, err := a.st.DeleteAuditBefore(ctx, now.Add(-a.keep).UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("delete old audit rows: %w", err)
	}
	return n, nil
}
