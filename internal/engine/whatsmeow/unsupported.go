package whatsmeow

import (
	"context"

	"github.com/openwa/openwa/internal/engine"
)

var _ engine.Engine = (*Engine)(nil)

// The operations below come with the fake WhatsApp server that proves them
// (see Engine); until then they say so instead of guessing.

func (e *Engine) Send(context.Context, *engine.Outgoing) (*engine.SendResult, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) Revoke(context.Context, string, string) error     { return engine.ErrUnsupported }
func (e *Engine) MarkRead(context.Context, string, []string) error { return engine.ErrUnsupported }
func (e *Engine) SendPresence(context.Context, string, engine.Presence) error {
	return engine.ErrUnsupported
}
func (e *Engine) Contacts(context.Context) ([]engine.Contact, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) Contact(context.Context, string) (*engine.Contact, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) ProfilePictureURL(context.Context, string) (string, error) {
	return "", engine.ErrUnsupported
}
func (e *Engine) IsOnWhatsApp(context.Context, string) (bool, string, error) {
	return false, "", engine.ErrUnsupported
}
func (e *Engine) SetBlocked(context.Context, string, bool) error { return engine.ErrUnsupported }
func (e *Engine) Groups(context.Context) ([]engine.Group, error) { return nil, engine.ErrUnsupported }
func (e *Engine) Group(context.Context, string) (*engine.Group, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) CreateGroup(context.Context, string, []string) (*engine.Group, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) UpdateParticipants(context.Context, string, engine.ParticipantAction, []string) (*engine.Group, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) SetGroupInfo(context.Context, string, *string, *string) (*engine.Group, error) {
	return nil, engine.ErrUnsupported
}
func (e *Engine) InviteLink(context.Context, string, bool) (string, error) {
	return "", engine.ErrUnsupported
}
func (e *Engine) LeaveGroup(context.Context, string) error { return engine.ErrUnsupported }
