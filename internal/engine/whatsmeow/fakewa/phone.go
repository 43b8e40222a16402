package fakewa

import (
	"bytes"
	"compress/zlib"
	"context"
	"time"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/proto/waHistorySync"
	"go.mau.fi/whatsmeow/proto/waWeb"
	"go.mau.fi/whatsmeow/types"
	"google.golang.org/protobuf/proto"
)

// The account's own phone: after pairing it sends the linked device what a
// real phone sends, as peer messages Signal-encrypted from device 0 of the
// account: history sync notifications (the blob on the media host) and the
// keys of the app state.

// SendPeer sends msg from the account's phone to the linked device, as a peer message.
func (s *Server) SendPeer(ctx context.Context, id string, msg *waE2E.Message) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	enc, err := s.encryptTo(ctx, c, s.phone(c), msg)
	if err != nil {
		return err
	}
	me := types.NewJID(lidOf(c.Payload.GetUsername()), types.HiddenUserServer)
	return c.Send(ctx, waBinary.Node{Tag: "message", Attrs: waBinary.Attrs{"from": me, "id": id, "t": time.Now().Unix(),
		"type": "text", "category": "peer"}, Content: []waBinary.Node{enc}})
}

// HistoryConversation is a chat in a history sync: its id and messages (text, oldest first).
type HistoryConversation struct {
	ChatID   types.JID
	Name     string
	Messages []HistoryMessage
}

// HistoryMessage is one message of a history conversation.
type HistoryMessage struct {
	ID     string
	FromMe bool
	Text   string
	Time   time.Time
}

// SendHistorySync plays the phone handing its history to the linked device:
// the history (zlib-compressed, encrypted) is uploaded to the media host and
// a history sync notification naming it goes to the device, which downloads it.
// With pushNames, it is a push-name sync instead.
func (s *Server) SendHistorySync(ctx context.Context, id string, convs []HistoryConversation, pushNames map[types.JID]string) error {
	hs := &waHistorySync.HistorySync{SyncType: waHistorySync.HistorySync_INITIAL_BOOTSTRAP.Enum(), ChunkOrder: proto.Uint32(1),
		Progress: proto.Uint32(100)}
	if pushNames != nil {
		hs.SyncType = waHistorySync.HistorySync_PUSH_NAME.Enum()
		for jid, name := range pushNames {
			hs.Pushnames = append(hs.Pushnames, &waHistorySync.Pushname{ID: proto.String(jid.String()), Pushname: proto.String(name)})
		}
	}
	for _, cv := range convs {
		conv := &waHistorySync.Conversation{ID: proto.String(cv.ChatID.String()), Name: proto.String(cv.Name)}
		for _, m := range cv.Messages {
			conv.Messages = append(conv.Messages, &waHistorySync.HistorySyncMsg{Message: &waWeb.WebMessageInfo{
				Key:              &waCommon.MessageKey{RemoteJID: proto.String(cv.ChatID.String()), FromMe: proto.Bool(m.FromMe), ID: proto.String(m.ID)},
				Message:          &waE2E.Message{Conversation: proto.String(m.Text)},
				MessageTimestamp: proto.Uint64(uint64(m.Time.Unix())),
			}})
		}
		hs.Conversations = append(hs.Conversations, conv)
	}
	raw, err := proto.Marshal(hs)
	if err != nil {
		return err
	}
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(raw)
	w.Close()
	up, err := s.Upload(z.Bytes(), whatsmeow.MediaHistory)
	if err != nil {
		return err
	}
	return s.SendPeer(ctx, id, &waE2E.Message{ProtocolMessage: &waE2E.ProtocolMessage{
		Type: waE2E.ProtocolMessage_HISTORY_SYNC_NOTIFICATION.Enum(),
		HistorySyncNotification: &waE2E.HistorySyncNotification{DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
			FileSHA256: up.FileSHA256, FileEncSHA256: up.FileEncSHA256, FileLength: &up.FileLength,
			SyncType: waE2E.HistorySyncType(hs.GetSyncType()).Enum(), ChunkOrder: proto.Uint32(1)},
	}})
}
