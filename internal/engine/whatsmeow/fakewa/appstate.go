package fakewa

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow/appstate"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waServerSync"
	"go.mau.fi/whatsmeow/proto/waSyncAction"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"
	"google.golang.org/protobuf/proto"
)

// App state: the account's settings and lists (contact names, archived
// chats, the push name) that the phone keeps on WhatsApp's servers in
// encrypted collections. The phone shares the key with a linked device
// (appStateSyncKeyShare, a peer message); the device then fetches each
// collection (w:sync:app:state) and decrypts and verifies its patches.

// AppState is what the phone puts in the account's app state.
type AppState struct {
	PushName string               // the account's own name (critical_block)
	Contacts map[types.JID]string // address-book names (critical_unblock_low)
	Archived []types.JID          // archived chats (regular_low)
}

// appState holds the collections of one account: one patch (version 1) each.
type appState struct {
	patches map[appstate.WAPatchName][]byte
}

// SetAppState plays the phone after linking: it encrypts the app state with
// a new key, keeps the collections for the device to fetch, and shares the
// key with the linked device, which fetches them. Once per account.
func (s *Server) SetAppState(ctx context.Context, st AppState) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	keyID, keyData := make([]byte, 6), make([]byte, 32)
	rand.Read(keyID)
	rand.Read(keyData)
	keys := &memAppStateKeys{keys: map[string]store.AppStateSyncKey{string(keyID): {Data: keyData}}}
	proc := appstate.NewProcessor(&store.Device{AppStateKeys: keys, AppState: memAppState{}}, waLog.Noop)
	byName := map[appstate.WAPatchName][]appstate.MutationInfo{}
	if st.PushName != "" {
		p := appstate.BuildSettingPushName(st.PushName)
		byName[p.Type] = append(byName[p.Type], p.Mutations...)
	}
	for jid, name := range st.Contacts {
		first, _, _ := strings.Cut(name, " ")
		byName[appstate.WAPatchCriticalUnblockLow] = append(byName[appstate.WAPatchCriticalUnblockLow], appstate.MutationInfo{
			Index: []string{appstate.IndexContact, jid.String()}, Version: 2,
			Value: &waSyncAction.SyncActionValue{ContactAction: &waSyncAction.ContactAction{FullName: proto.String(name), FirstName: proto.String(first)}}})
	}
	for _, jid := range st.Archived {
		p := appstate.BuildArchive(jid, true, time.Now().Add(-time.Hour), nil)
		byName[p.Type] = append(byName[p.Type], p.Mutations...)
	}
	as := &appState{patches: map[appstate.WAPatchName][]byte{}}
	for name, muts := range byName {
		raw, err := proc.EncodePatch(ctx, keyID, appstate.HashState{}, appstate.PatchInfo{Type: name, Mutations: muts})
		if err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
		var patch waServerSync.SyncdPatch
		if err := proto.Unmarshal(raw, &patch); err != nil {
			return err
		}
		patch.Version = &waServerSync.SyncdVersion{Version: proto.Uint64(1)}
		if as.patches[name], err = proto.Marshal(&patch); err != nil {
			return err
		}
	}
	s.mu.Lock()
	if s.appStates == nil {
		s.appStates = map[uint64]*appState{}
	}
	s.appStates[c.Payload.GetUsername()] = as
	s.mu.Unlock()
	return s.SendPeer(ctx, "3EB0KEYSHARE"+fmt.Sprint(time.Now().UnixNano()%1e6), &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_APP_STATE_SYNC_KEY_SHARE.Enum(),
		AppStateSyncKeyShare: &waE2E.AppStateSyncKeyShare{Keys: []*waE2E.AppStateSyncKey{{
			KeyID: &waE2E.AppStateSyncKeyId{KeyID: keyID},
			KeyData: &waE2E.AppStateSyncKeyData{KeyData: keyData, Timestamp: proto.Int64(time.Now().UnixMilli()),
				Fingerprint: &waE2E.AppStateSyncKeyFingerprint{RawID: proto.Uint32(1), CurrentIndex: proto.Uint32(0)}},
		}}},
	}})
}

// appStateIQ answers a collection fetch: the patches newer than the version the device has.
func (s *Server) appStateIQ(c *Conn, n *waBinary.Node) []waBinary.Node {
	s.mu.Lock()
	as := s.appStates[c.Payload.GetUsername()]
	s.mu.Unlock()
	var out []waBinary.Node
	sync := n.GetChildByTag("sync")
	for _, coll := range sync.GetChildren() {
		name, _ := coll.Attrs["name"].(string)
		from := coll.AttrGetter().OptionalInt("version")
		node := waBinary.Node{Tag: "collection", Attrs: waBinary.Attrs{"name": name, "version": 0}}
		if as != nil {
			if p, ok := as.patches[appstate.WAPatchName(name)]; ok {
				node.Attrs["version"] = 1
				if from < 1 {
					node.Content = []waBinary.Node{{Tag: "patches", Content: []waBinary.Node{{Tag: "patch", Content: p}}}}
				}
			}
		}
		out = append(out, node)
	}
	return []waBinary.Node{{Tag: "sync", Content: out}}
}

// memAppStateKeys and memAppState are the phone's side of the app state
// stores, in memory: what encoding a patch needs.
type memAppStateKeys struct {
	mu   sync.Mutex
	keys map[string]store.AppStateSyncKey
}

func (m *memAppStateKeys) PutAppStateSyncKey(_ context.Context, id []byte, key store.AppStateSyncKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[string(id)] = key
	return nil
}

func (m *memAppStateKeys) GetAppStateSyncKey(_ context.Context, id []byte) (*store.AppStateSyncKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.keys[string(id)]; ok {
		return &k, nil
	}
	return nil, nil
}

func (m *memAppStateKeys) GetLatestAppStateSyncKeyID(context.Context) ([]byte, error) {
	return nil, nil
}
func (m *memAppStateKeys) GetAllAppStateSyncKeys(context.Context) ([]*store.AppStateSyncKey, error) {
	return nil, nil
}

type memAppState struct{}

func (memAppState) PutAppStateVersion(context.Context, string, uint64, [128]byte) error { return nil }
func (memAppState) GetAppStateVersion(context.Context, string) (uint64, [128]byte, error) {
	return 0, [128]byte{}, nil
}
func (memAppState) DeleteAppStateVersion(context.Context, string) error { return nil }
func (memAppState) PutAppStateMutationMACs(context.Context, string, uint64, []store.AppStateMutationMAC) error {
	return nil
}
func (memAppState) DeleteAppStateMutationMACs(context.Context, string, [][]byte) error { return nil }
func (memAppState) GetAppStateMutationMAC(context.Context, string, []byte) ([]byte, error) {
	return nil, nil
}
