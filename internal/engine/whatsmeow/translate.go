package whatsmeow

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waCommon"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/stamp"
)

// This file translates between whatsmeow's types and the engine contract's.
// It holds no connection, so it is tested on its own; the engine that uses it
// is proven against a protocol-level fake WhatsApp server.

// connectionEvent maps whatsmeow's connection events to the contract's, as
// they happen: never from a stale IsLoggedIn(). me is the linked account when
// known. ok is false for events that are not about the connection.
func connectionEvent(evt any, me engine.Account, now time.Time) (ev engine.Event, ok bool) {
	switch e := evt.(type) {
	case *events.Connected, *events.KeepAliveRestored:
		return engine.Ready{Account: me}, true
	case *events.PairSuccess:
		return engine.Paired{Account: account(e.ID, e.LID, e.BusinessName)}, true
	case *events.Disconnected:
		return engine.Disconnected{Reason: "connection to WhatsApp lost", WillReconnect: true}, true
	case *events.KeepAliveTimeout:
		return engine.Disconnected{Reason: fmt.Sprintf("WhatsApp stopped answering keep-alives (%d in a row, last answer %s)",
			e.ErrorCount, e.LastSuccess.UTC().Format(time.RFC3339)), WillReconnect: true}, true
	case *events.LoggedOut:
		reason := "the device was unlinked from the phone"
		if e.OnConnect {
			reason = "WhatsApp refused the login: " + e.Reason.String()
		}
		return engine.LoggedOut{Reason: reason}, true
	case *events.StreamReplaced:
		return engine.Failed{Reason: "stream replaced: another client connected with this device's keys"}, true
	case *events.TemporaryBan:
		f := engine.Failed{Reason: "temporarily banned by WhatsApp: " + e.Code.String()}
		if e.Expire > 0 {
			f.Until = now.Add(e.Expire).UTC()
		}
		return f, true
	case *events.ClientOutdated:
		return engine.Failed{Reason: "WhatsApp says this client is outdated: update OpenWA"}, true
	case *events.ConnectFailure:
		return engine.Failed{Reason: fmt.Sprintf("WhatsApp refused the connection: %s %s", e.Reason, e.Message)}, true
	}
	return nil, false
}

// account describes a linked device's account; phone is the user part of its JID.
func account(id, lid types.JID, pushName string) engine.Account {
	a := engine.Account{JID: id.ToNonAD().String(), Phone: id.User, PushName: pushName}
	if !lid.IsEmpty() {
		a.LID = lid.ToNonAD().String()
	}
	return a
}

// ackStatus maps a receipt type to a delivery status; ok is false for receipts that are not acks.
func ackStatus(t types.ReceiptType) (engine.AckStatus, bool) {
	switch t {
	case types.ReceiptTypeDelivered:
		return engine.AckDelivered, true
	case types.ReceiptTypeRead, types.ReceiptTypeReadSelf:
		return engine.AckRead, true
	case types.ReceiptTypePlayed, types.ReceiptTypePlayedSelf:
		return engine.AckPlayed, true
	}
	return "", false
}

// pnLookup finds the phone JID of a LID in the device store (whatsmeow's
// LID map); it returns the empty JID when it knows none. nil looks up nothing.
type pnLookup func(lid types.JID) types.JID

// phoneOf names a user by phone JID where one is known: alt when WhatsApp
// gave it beside the id, else what pn knows. lid is the user's LID when it is
// known (the id itself, or alt when the id is a phone JID); other ids (groups,
// statuses, channels) pass unchanged.
func phoneOf(id, alt types.JID, pn pnLookup) (out, lid types.JID) {
	id, alt = id.ToNonAD(), alt.ToNonAD()
	switch id.Server {
	case types.DefaultUserServer:
		if alt.Server == types.HiddenUserServer {
			lid = alt
		}
		return id, lid
	case types.HiddenUserServer:
		if alt.Server == types.DefaultUserServer {
			return alt, id
		}
		if pn != nil {
			if p := pn(id); p.Server == types.DefaultUserServer {
				return p.ToNonAD(), id
			}
		}
		return id, id // no phone known: the LID is the id (a LID-only contact)
	}
	return id, types.EmptyJID
}

// incoming is what an incoming message means to OpenWA: a message, a revoke,
// or nothing (nil) for the protocol traffic that rides in messages (sender
// keys of a group, history and app-state notices, key shares).
func incoming(e *events.Message, pn pnLookup) engine.Event {
	msg := e.Message
	if pm := msg.GetProtocolMessage(); pm != nil {
		if pm.GetType() != waE2E.ProtocolMessage_REVOKE {
			return nil
		}
		m := receivedMessage(e, pn)
		return engine.Revoked{ChatID: m.ChatID, WAMessageID: pm.GetKey().GetID(), By: m.From, FromMe: m.FromMe, Timestamp: m.Timestamp}
	}
	if msg != nil {
		rest := proto.Clone(msg).(*waE2E.Message)
		rest.SenderKeyDistributionMessage, rest.MessageContextInfo = nil, nil
		if proto.Size(rest) == 0 {
			return nil
		}
	}
	return engine.MessageReceived{Message: receivedMessage(e, pn)}
}

// receivedMessage translates an incoming message. Media bytes are not here:
// the engine downloads them before handing the message on.
// OpenWA's users address people by phone number, so the sender and a 1:1
// chat are named by phone JID wherever one is known (the JID WhatsApp gave
// beside the LID, else pn), with the LID kept in FromLID and ChatLID; only
// when no phone is known does the LID stay the id. Mentions by LID become
// phone JIDs the same way.
func receivedMessage(e *events.Message, pn pnLookup) *engine.Message {
	m := &engine.Message{WAMessageID: e.Info.ID, FromMe: e.Info.IsFromMe, PushName: e.Info.PushName,
		Timestamp: e.Info.Timestamp.UTC(), Type: engine.TypeUnknown}
	from, fromLID := phoneOf(e.Info.Sender, e.Info.SenderAlt, pn)
	m.From, m.FromLID = from.String(), jidString(fromLID)
	m.SenderAs = e.Info.Sender.ToNonAD().String()
	chatAlt := e.Info.SenderAlt // a 1:1 chat from a contact is the contact
	if e.Info.IsFromMe {
		chatAlt = e.Info.RecipientAlt // the account's own message: the chat is its recipient
	}
	chat, chatLID := phoneOf(e.Info.Chat, chatAlt, pn)
	if e.Info.IsGroup {
		chat, chatLID = e.Info.Chat.ToNonAD(), types.EmptyJID
	}
	m.ChatID, m.ChatLID = chat.String(), jidString(chatLID)
	msg := e.Message
	if msg == nil {
		return m
	}
	var ctx *waE2E.ContextInfo
	switch {
	case msg.Conversation != nil:
		m.Type, m.Text = engine.TypeText, msg.GetConversation()
	case msg.ExtendedTextMessage != nil:
		m.Type, m.Text, ctx = engine.TypeText, msg.GetExtendedTextMessage().GetText(), msg.GetExtendedTextMessage().GetContextInfo()
	case msg.ImageMessage != nil:
		im := msg.GetImageMessage()
		m.Type, m.Caption, ctx = engine.TypeImage, im.GetCaption(), im.GetContextInfo()
		m.Media = &engine.Media{Mimetype: im.GetMimetype()}
	case msg.VideoMessage != nil:
		vm := msg.GetVideoMessage()
		m.Type, m.Caption, ctx = engine.TypeVideo, vm.GetCaption(), vm.GetContextInfo()
		m.Media = &engine.Media{Mimetype: vm.GetMimetype()}
	case msg.AudioMessage != nil:
		am := msg.GetAudioMessage()
		m.Type, ctx = engine.TypeAudio, am.GetContextInfo()
		if am.GetPTT() {
			m.Type = engine.TypeVoice
		}
		m.Media = &engine.Media{Mimetype: am.GetMimetype()}
	case msg.DocumentMessage != nil:
		dm := msg.GetDocumentMessage()
		m.Type, m.Caption, ctx = engine.TypeDocument, dm.GetCaption(), dm.GetContextInfo()
		m.Media = &engine.Media{Mimetype: dm.GetMimetype(), Filename: dm.GetFileName()}
	case msg.StickerMessage != nil:
		m.Type, ctx = engine.TypeSticker, msg.GetStickerMessage().GetContextInfo()
		m.Media = &engine.Media{Mimetype: msg.GetStickerMessage().GetMimetype()}
	case msg.LocationMessage != nil:
		l := msg.GetLocationMessage()
		m.Type, ctx = engine.TypeLocation, l.GetContextInfo()
		m.Location = &engine.Location{Latitude: l.GetDegreesLatitude(), Longitude: l.GetDegreesLongitude(),
			Name: l.GetName(), Address: l.GetAddress()}
	case msg.ContactMessage != nil:
		m.Type = engine.TypeContact
		m.Contacts = []engine.ContactCard{cardOf(msg.GetContactMessage())}
	case msg.ContactsArrayMessage != nil:
		m.Type = engine.TypeContact
		for _, c := range msg.GetContactsArrayMessage().GetContacts() {
			m.Contacts = append(m.Contacts, cardOf(c))
		}
	case msg.ReactionMessage != nil:
		r := msg.GetReactionMessage()
		m.Type, m.Reaction = engine.TypeReaction, &engine.Reaction{MessageID: r.GetKey().GetID(), Emoji: r.GetText()}
	case msg.PollCreationMessage != nil || msg.PollCreationMessageV3 != nil:
		p := msg.GetPollCreationMessage()
		if p == nil {
			p = msg.GetPollCreationMessageV3()
		}
		m.Type = engine.TypePoll
		m.Poll = &engine.Poll{Name: p.GetName(), MultipleAnswers: p.GetSelectableOptionsCount() != 1}
		for _, o := range p.GetOptions() {
			m.Poll.Options = append(m.Poll.Options, o.GetOptionName())
		}
	}
	if ctx != nil {
		m.ReplyTo = ctx.GetStanzaID()
		for _, s := range ctx.GetMentionedJID() {
			if j, err := types.ParseJID(s); err == nil {
				j, _ = phoneOf(j, types.EmptyJID, pn)
				s = j.String()
			}
			m.Mentions = append(m.Mentions, s)
		}
	}
	return m
}

func jidString(j types.JID) string {
	if j.IsEmpty() {
		return ""
	}
	return j.String()
}

func cardOf(c *waE2E.ContactMessage) engine.ContactCard {
	card := engine.ContactCard{Name: c.GetDisplayName()}
	for _, line := range strings.Split(c.GetVcard(), "\n") {
		if i := strings.Index(line, "waid="); i >= 0 && strings.HasPrefix(strings.ToUpper(line), "TEL") {
			card.Phone = strings.SplitN(line[i+len("waid="):], ":", 2)[0]
			break
		}
	}
	return card
}

// vcard writes the vCard WhatsApp clients read a shared contact from.
func vcard(c engine.ContactCard) string {
	return fmt.Sprintf("BEGIN:VCARD\nVERSION:3.0\nFN:%s\nTEL;type=CELL;waid=%s:+%s\nEND:VCARD",
		strings.NewReplacer("\n", " ", "\r", " ").Replace(c.Name), c.Phone, c.Phone)
}

// contextInfo carries a reply and mentions, or nil when there are none.
func contextInfo(chatID string, out *engine.Outgoing) *waE2E.ContextInfo {
	if out.ReplyTo == "" && len(out.Mentions) == 0 {
		return nil
	}
	ci := &waE2E.ContextInfo{MentionedJID: out.Mentions}
	if out.ReplyTo != "" {
		ci.StanzaID = proto.String(out.ReplyTo)
		ci.RemoteJID = proto.String(chatID)
		if q := out.Quoted; q != nil {
			ci.Participant = proto.String(q.Sender)
			if q.Text != "" {
				ci.QuotedMessage = &waE2E.Message{Conversation: proto.String(q.Text)}
			}
		}
	}
	return ci
}

// textual builds the message of a send that carries no media; media messages
// are built after their upload, and polls by whatsmeow (they need a secret).
func textual(out *engine.Outgoing) (*waE2E.Message, error) {
	ci := contextInfo(out.ChatID, out)
	switch out.Type {
	case engine.TypeText:
		if ci == nil {
			return &waE2E.Message{Conversation: proto.String(out.Text)}, nil
		}
		return &waE2E.Message{ExtendedTextMessage: &waE2E.ExtendedTextMessage{Text: proto.String(out.Text), ContextInfo: ci}}, nil
	case engine.TypeLocation:
		l := out.Location
		return &waE2E.Message{LocationMessage: &waE2E.LocationMessage{DegreesLatitude: proto.Float64(l.Latitude),
			DegreesLongitude: proto.Float64(l.Longitude), Name: nonEmpty(l.Name), Address: nonEmpty(l.Address), ContextInfo: ci}}, nil
	case engine.TypeContact:
		if len(out.Contacts) == 1 {
			c := out.Contacts[0]
			return &waE2E.Message{ContactMessage: &waE2E.ContactMessage{DisplayName: proto.String(c.Name),
				Vcard: proto.String(vcard(c)), ContextInfo: ci}}, nil
		}
		arr := &waE2E.ContactsArrayMessage{DisplayName: proto.String(fmt.Sprintf("%d contacts", len(out.Contacts))), ContextInfo: ci}
		for _, c := range out.Contacts {
			arr.Contacts = append(arr.Contacts, &waE2E.ContactMessage{DisplayName: proto.String(c.Name), Vcard: proto.String(vcard(c))})
		}
		return &waE2E.Message{ContactsArrayMessage: arr}, nil
	}
	return nil, fmt.Errorf("%s messages are not built here: %w", out.Type, engine.ErrUnsupported)
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return proto.String(s)
}

// reaction builds a reaction to a message whose sender is not known (not
// stored): its key names chat, id and whether it is the account's own.
func reaction(chat types.JID, r *engine.Reaction, now time.Time) *waE2E.Message {
	return &waE2E.Message{ReactionMessage: &waE2E.ReactionMessage{
		Key:               &waCommon.MessageKey{RemoteJID: proto.String(chat.String()), FromMe: proto.Bool(r.FromMe), ID: proto.String(r.MessageID)},
		Text:              proto.String(r.Emoji),
		SenderTimestampMS: proto.Int64(now.UnixMilli()),
	}}
}

// groupInvite is the invitation to join a group that an add request allows.
func groupInvite(group types.JID, subject string, req *types.GroupParticipantAddRequest) *waE2E.Message {
	return &waE2E.Message{GroupInviteMessage: &waE2E.GroupInviteMessage{GroupJID: proto.String(group.String()),
		InviteCode: proto.String(req.Code), InviteExpiration: proto.Int64(req.Expiration.Unix()),
		GroupName: proto.String(subject), Caption: proto.String("Invitation to join my WhatsApp group")}}
}

// participantResult is the outcome of a membership change for one
// participant, from WhatsApp's code for it (0: done).
func participantResult(action engine.ParticipantAction, who string, code int) engine.ParticipantResult {
	r := engine.ParticipantResult{Participant: who, Code: cmp.Or(code, 200)}
	if code == 0 || code == 200 {
		r.Status = map[engine.ParticipantAction]string{engine.ParticipantAdd: "added", engine.ParticipantRemove: "removed",
			engine.ParticipantPromote: "promoted", engine.ParticipantDemote: "demoted"}[action]
		return r
	}
	r.Status = "failed"
	switch code {
	case 403:
		r.Reason = "WhatsApp does not allow it (the person's privacy settings, or this account is not an admin)"
	case 404:
		r.Reason = "no WhatsApp account, or not a member of the group"
	case 408:
		r.Reason = "they left the group recently and cannot be added back yet"
	case 409:
		r.Reason = "already a member of the group"
		if action != engine.ParticipantAdd {
			r.Reason = "not in the state asked for (already an admin, not an admin, or not a member)"
		}
	case 500:
		r.Reason = "the group is full"
	default:
		r.Reason = fmt.Sprintf("WhatsApp answered %d", code)
	}
	return r
}

// mediaKind is the kind of upload (the key WhatsApp encrypts it with) for a media message type.
func mediaKind(t engine.MessageType) (whatsmeow.MediaType, bool) {
	switch t {
	case engine.TypeImage, engine.TypeSticker:
		return whatsmeow.MediaImage, true
	case engine.TypeVideo:
		return whatsmeow.MediaVideo, true
	case engine.TypeAudio, engine.TypeVoice:
		return whatsmeow.MediaAudio, true
	case engine.TypeDocument:
		return whatsmeow.MediaDocument, true
	}
	return "", false
}

// mediaMessage builds a media message from its upload.
func mediaMessage(out *engine.Outgoing, up whatsmeow.UploadResponse) *waE2E.Message {
	ci := contextInfo(out.ChatID, out)
	mime := proto.String(out.Media.Mimetype)
	switch out.Type {
	case engine.TypeImage:
		return &waE2E.Message{ImageMessage: &waE2E.ImageMessage{URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: &up.FileLength, Mimetype: mime,
			Caption: nonEmpty(out.Caption), ContextInfo: ci}}
	case engine.TypeSticker:
		return &waE2E.Message{StickerMessage: &waE2E.StickerMessage{URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: &up.FileLength, Mimetype: mime, ContextInfo: ci}}
	case engine.TypeVideo:
		return &waE2E.Message{VideoMessage: &waE2E.VideoMessage{URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: &up.FileLength, Mimetype: mime,
			Caption: nonEmpty(out.Caption), ContextInfo: ci}}
	case engine.TypeAudio, engine.TypeVoice:
		return &waE2E.Message{AudioMessage: &waE2E.AudioMessage{URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
			FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: &up.FileLength, Mimetype: mime,
			PTT: proto.Bool(out.Type == engine.TypeVoice), ContextInfo: ci}}
	}
	name := out.Media.Filename
	if name == "" {
		name = "document"
	}
	return &waE2E.Message{DocumentMessage: &waE2E.DocumentMessage{URL: &up.URL, DirectPath: &up.DirectPath, MediaKey: up.MediaKey,
		FileEncSHA256: up.FileEncSHA256, FileSHA256: up.FileSHA256, FileLength: &up.FileLength, Mimetype: mime,
		FileName: proto.String(name), Title: proto.String(name), Caption: nonEmpty(out.Caption), ContextInfo: ci}}
}

// downloadable is the media of a received message, nil when it has none.
func downloadable(msg *waE2E.Message) whatsmeow.DownloadableMessage {
	switch {
	case msg.GetImageMessage() != nil:
		return msg.GetImageMessage()
	case msg.GetVideoMessage() != nil:
		return msg.GetVideoMessage()
	case msg.GetAudioMessage() != nil:
		return msg.GetAudioMessage()
	case msg.GetDocumentMessage() != nil:
		return msg.GetDocumentMessage()
	case msg.GetStickerMessage() != nil:
		return msg.GetStickerMessage()
	}
	return nil
}

// group translates a group, naming members by phone JID where WhatsApp gives it.
func group(g *types.GroupInfo) *engine.Group {
	out := &engine.Group{JID: g.JID.String(), Subject: g.Name, Description: g.Topic, CreatedAt: stamp.Of(g.GroupCreated),
		Participants: []engine.Participant{}}
	if owner := cmp.Or(g.OwnerPN, g.OwnerJID); !owner.IsEmpty() {
		out.Owner = owner.ToNonAD().String()
	}
	for _, p := range g.Participants {
		jid := p.JID
		if !p.PhoneNumber.IsEmpty() {
			jid = p.PhoneNumber
		}
		out.Participants = append(out.Participants, engine.Participant{JID: jid.ToNonAD().String(), IsAdmin: p.IsAdmin,
			IsSuperAdmin: p.IsSuperAdmin})
	}
	return out
}

// groupChanges names what a group notification changed: subject,
// description, participants, settings, inviteLink, deleted.
func groupChanges(v *events.GroupInfo) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(v.Name != nil, "subject")
	add(v.Topic != nil, "description")
	add(len(v.Join)+len(v.Leave)+len(v.Promote)+len(v.Demote) > 0, "participants")
	add(v.Locked != nil || v.Announce != nil || v.Ephemeral != nil || v.MembershipApprovalMode != nil, "settings")
	add(v.NewInviteLink != nil, "inviteLink")
	add(v.Delete != nil, "deleted")
	if len(out) == 0 {
		out = append(out, "other")
	}
	return out
}
