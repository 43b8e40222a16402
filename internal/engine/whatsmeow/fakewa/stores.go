package fakewa

import (
	"context"
	"sync"

	groupRecord "go.mau.fi/libsignal/groups/state/record"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/serialize"
	"go.mau.fi/libsignal/state/record"
)

// A contact's Signal sessions and sender keys, by address. (libsignal's test
// stores key their maps by pointer, so a session would be lost between two
// messages that name the same address anew.)

type sessionStore struct {
	mu         sync.Mutex
	serializer *serialize.Serializer
	m          map[string]*record.Session
}

func newSessionStore(s *serialize.Serializer) *sessionStore {
	return &sessionStore{serializer: s, m: map[string]*record.Session{}}
}

func (s *sessionStore) LoadSession(_ context.Context, a *protocol.SignalAddress) (*record.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.m[a.String()]; ok {
		return r, nil
	}
	return record.NewSession(s.serializer.Session, s.serializer.State), nil
}

func (s *sessionStore) GetSubDeviceSessions(_ context.Context, name string) ([]uint32, error) {
	return nil, nil
}

func (s *sessionStore) StoreSession(_ context.Context, a *protocol.SignalAddress, r *record.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[a.String()] = r
	return nil
}

func (s *sessionStore) ContainsSession(_ context.Context, a *protocol.SignalAddress) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[a.String()]
	return ok, nil
}

func (s *sessionStore) DeleteSession(_ context.Context, a *protocol.SignalAddress) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, a.String())
	return nil
}

func (s *sessionStore) DeleteAllSessions(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = map[string]*record.Session{}
	return nil
}

type senderKeyStore struct {
	mu         sync.Mutex
	serializer *serialize.Serializer
	m          map[string]*groupRecord.SenderKey
}

func newSenderKeyStore(s *serialize.Serializer) *senderKeyStore {
	return &senderKeyStore{serializer: s, m: map[string]*groupRecord.SenderKey{}}
}

func senderKeyID(n *protocol.SenderKeyName) string { return n.GroupID() + "|" + n.Sender().String() }

func (s *senderKeyStore) StoreSenderKey(_ context.Context, n *protocol.SenderKeyName, r *groupRecord.SenderKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[senderKeyID(n)] = r
	return nil
}

func (s *senderKeyStore) LoadSenderKey(_ context.Context, n *protocol.SenderKeyName) (*groupRecord.SenderKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.m[senderKeyID(n)]; ok {
		return r, nil
	}
	return groupRecord.NewSenderKey(s.serializer.SenderKeyRecord, s.serializer.SenderKeyState), nil
}
