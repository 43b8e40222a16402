package canary

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// kind is one message type of the API: how A sends it, and what B must see.
type kind struct {
	name  string
	route string // under /api/sessions/{id}/messages/
	want  string // the type B stores
	// body builds the request; it may read what was sent before (a reply needs its original).
	body  func(r *run) (map[string]any, error)
	check func(r *run, m message) error
	media func() []byte
}

const canaryText = "OpenWA canary: text"

var kinds = []kind{
	{name: "text", route: "send-text", want: "text",
		body:  func(r *run) (map[string]any, error) { return map[string]any{"chatId": r.jidB, "text": canaryText}, nil },
		check: func(_ *run, m message) error { return expect("text", m.Text, canaryText) }},
	{name: "reply", route: "send-text", want: "text",
		body: func(r *run) (map[string]any, error) {
			orig, err := r.original("text")
			if err != nil {
				return nil, err
			}
			return map[string]any{"chatId": r.jidB, "text": "OpenWA canary: reply", "replyTo": orig.ID}, nil
		},
		check: func(r *run, m message) error { return expect("replyTo", m.ReplyTo, r.sent["text"].msg.WAMessageID) }},
	{name: "image", route: "send-image", want: "image", media: pngImage,
		body:  func(r *run) (map[string]any, error) { return r.mediaBody(pngImage(), "", "OpenWA canary: image"), nil },
		check: func(_ *run, m message) error { return expect("caption", m.Caption, "OpenWA canary: image") }},
	{name: "video", route: "send-video", want: "video", media: mp4Video,
		body: func(r *run) (map[string]any, error) { return r.mediaBody(mp4Video(), "", ""), nil }},
	{name: "audio", route: "send-audio", want: "audio", media: mp3Audio,
		body: func(r *run) (map[string]any, error) { return r.mediaBody(mp3Audio(), "", ""), nil }},
	{name: "voice", route: "send-audio", want: "voice", media: oggVoice,
		body: func(r *run) (map[string]any, error) {
			b := r.mediaBody(oggVoice(), "", "")
			b["voice"] = true
			return b, nil
		}},
	{name: "document", route: "send-document", want: "document", media: pdfDocument,
		body: func(r *run) (map[string]any, error) {
			return r.mediaBody(pdfDocument(), "openwa-canary.pdf", "OpenWA canary: document"), nil
		}},
	{name: "sticker", route: "send-sticker", want: "sticker", media: webpSticker,
		body: func(r *run) (map[string]any, error) { return r.mediaBody(webpSticker(), "", ""), nil }},
	{name: "location", route: "send-location", want: "location",
		body: func(r *run) (map[string]any, error) {
			return map[string]any{"chatId": r.jidB, "latitude": 52.52, "longitude": 13.405, "name": "OpenWA canary"}, nil
		},
		check: func(_ *run, m message) error {
			if m.Location == nil || m.Location.Latitude != 52.52 || m.Location.Longitude != 13.405 {
				return fmt.Errorf("location %+v, want 52.52, 13.405", m.Location)
			}
			return nil
		}},
	{name: "contact", route: "send-contact", want: "contact",
		body: func(r *run) (map[string]any, error) {
			return map[string]any{"chatId": r.jidB, "contacts": []map[string]string{{"name": "OpenWA canary", "phone": "15550000000"}}}, nil
		},
		check: func(_ *run, m message) error {
			if len(m.Contacts) != 1 || m.Contacts[0].Name != "OpenWA canary" || m.Contacts[0].Phone != "15550000000" {
				return fmt.Errorf("contacts %+v, want OpenWA canary 15550000000", m.Contacts)
			}
			return nil
		}},
	{name: "reaction", route: "send-reaction", want: "reaction",
		body: func(r *run) (map[string]any, error) {
			orig, err := r.original("text")
			if err != nil {
				return nil, err
			}
			return map[string]any{"chatId": r.jidB, "messageId": orig.ID, "emoji": "👍"}, nil
		},
		check: func(r *run, m message) error {
			if m.Reaction == nil || m.Reaction.Emoji != "👍" || m.Reaction.MessageID != r.sent["text"].msg.WAMessageID {
				return fmt.Errorf("reaction %+v, want 👍 on %s", m.Reaction, r.sent["text"].msg.WAMessageID)
			}
			return nil
		}},
	{name: "poll", route: "send-poll", want: "poll",
		body: func(r *run) (map[string]any, error) {
			return map[string]any{"chatId": r.jidB, "name": "OpenWA canary?", "options": []string{"yes", "no"}}, nil
		},
		check: func(_ *run, m message) error {
			if m.Poll == nil || m.Poll.Name != "OpenWA canary?" || !slices.Equal(m.Poll.Options, []string{"yes", "no"}) {
				return fmt.Errorf("poll %+v, want OpenWA canary? yes/no", m.Poll)
			}
			return nil
		}},
}

func expect(field, got, want string) error {
	if got != want {
		return fmt.Errorf("%s %q, want %q", field, got, want)
	}
	return nil
}

// original is a message A sent before, for a reply or a reaction.
func (r *run) original(name string) (message, error) {
	s := r.sent[name]
	if s == nil {
		return message{}, skip("the " + name + " message was not sent")
	}
	return s.msg, nil
}

func (r *run) mediaBody(data []byte, filename, caption string) map[string]any {
	b := map[string]any{"chatId": r.jidB, "media": map[string]any{"data": base64.StdEncoding.EncodeToString(data)}}
	if filename != "" {
		b["filename"] = filename
	}
	if caption != "" {
		b["caption"] = caption
	}
	return b
}

// send makes A send one message of kind k to B and waits until it went out.
func (r *run) send(ctx context.Context, k kind) (string, error) {
	body, err := k.body(r)
	if err != nil {
		return "", err
	}
	var m message
	if err := r.api.do(ctx, http.MethodPost, sessionPath(r.cfg.SessionA)+"/messages/"+k.route, body, &m); err != nil {
		return "", err
	}
	if m.Status == "queued" || m.Status == "sending" { // 202: still in the outbox
		if _, err := r.wait(ctx, func(ctx context.Context) (string, bool, error) {
			if err := r.api.do(ctx, http.MethodGet, sessionPath(r.cfg.SessionA)+"/messages/"+m.ID, nil, &m); err != nil {
				return "", false, err
			}
			if m.Status == "failed" {
				return "", false, &final{fmt.Errorf("%s failed", m.ID)}
			}
			return "", m.Status != "queued" && m.Status != "sending", fmt.Errorf("%s is %s", m.ID, m.Status)
		}); err != nil {
			return "", err
		}
	}
	if m.WAMessageID == "" {
		return "", fmt.Errorf("%s has no WhatsApp id", m.ID)
	}
	s := &sent{msg: m, want: k.want}
	if k.check != nil {
		s.check = func(got message) error { return k.check(r, got) }
	}
	if k.media != nil {
		s.media = k.media()
	}
	r.sent[k.name] = s
	return fmt.Sprintf("%s %s %s", m.ID, m.WAMessageID, m.Status), nil
}

// inbound finds the message B received with WhatsApp id waID.
func (r *run) inbound(ctx context.Context, waID string) (*message, error) {
	list, err := r.messages(ctx, r.cfg.SessionB, "in")
	if err != nil {
		return nil, err
	}
	for i := range list {
		if list[i].WAMessageID == waID {
			return &list[i], nil
		}
	}
	return nil, nil
}

// receive waits until B has the message A sent as kind name, of the right
// type and content; media must download from B's OpenWA byte for byte.
func (r *run) receive(ctx context.Context, name string) (string, error) {
	s := r.sent[name]
	if s == nil {
		return "", skip("not sent")
	}
	var got *message
	if _, err := r.wait(ctx, func(ctx context.Context) (string, bool, error) {
		m, err := r.inbound(ctx, s.msg.WAMessageID)
		if err != nil || m == nil {
			if err == nil {
				err = fmt.Errorf("session %s has no message %s", r.cfg.SessionB, s.msg.WAMessageID)
			}
			return "", false, err
		}
		if s.media != nil && m.Media == nil { // received, its media still downloading
			return "", false, fmt.Errorf("message %s has no media", m.ID)
		}
		got = m
		return "", true, nil
	}); err != nil {
		return "", err
	}
	if got.Type != s.want {
		return "", fmt.Errorf("%s arrived as %s, want %s", got.ID, got.Type, s.want)
	}
	if !r.fromA(got.From) {
		return "", fmt.Errorf("%s is from %s, want %s", got.ID, got.From, r.jidA)
	}
	if s.check != nil {
		if err := s.check(*got); err != nil {
			return "", err
		}
	}
	if s.media != nil {
		data, err := r.api.raw(ctx, sessionPath(r.cfg.SessionB)+"/media/"+got.Media.ID)
		if err != nil {
			return "", fmt.Errorf("download %s: %w", got.Media.ID, err)
		}
		if !bytes.Equal(data, s.media) {
			return "", fmt.Errorf("media %s: %d bytes differ from the %d sent", got.Media.ID, len(data), len(s.media))
		}
		return fmt.Sprintf("%s %s, %d bytes", got.ID, got.Media.Mimetype, len(data)), nil
	}
	return got.ID, nil
}

// ackDelivered waits until B's receipts made A's messages delivered (or read).
func (r *run) ackDelivered(ctx context.Context) (string, error) {
	var ids []string
	for _, k := range kinds {
		// A reaction has no ticks in WhatsApp: no delivery receipt is asked of it.
		if s := r.sent[k.name]; s != nil && k.name != "reaction" {
			ids = append(ids, s.msg.ID)
		}
	}
	if len(ids) == 0 {
		return "", skip("nothing sent")
	}
	return r.wait(ctx, func(ctx context.Context) (string, bool, error) {
		var behind []string
		for _, id := range ids {
			var m message
			if err := r.api.do(ctx, http.MethodGet, sessionPath(r.cfg.SessionA)+"/messages/"+id, nil, &m); err != nil {
				return "", false, err
			}
			if m.Status != "delivered" && m.Status != "read" && m.Status != "played" {
				behind = append(behind, id+" "+m.Status)
			}
		}
		if len(behind) > 0 {
			return "", false, fmt.Errorf("not delivered: %s", strings.Join(behind, ", "))
		}
		return fmt.Sprintf("%d of %d delivered", len(ids), len(ids)), true, nil
	})
}

// revoke deletes A's text message for everyone: A's copy and B's become revoked.
func (r *run) revoke(ctx context.Context) (string, error) {
	s := r.sent["text"]
	if s == nil {
		return "", skip("the text message was not sent")
	}
	if err := r.api.do(ctx, http.MethodDelete, sessionPath(r.cfg.SessionA)+"/messages/"+s.msg.ID, nil, nil); err != nil {
		return "", err
	}
	return r.wait(ctx, func(ctx context.Context) (string, bool, error) {
		m, err := r.inbound(ctx, s.msg.WAMessageID)
		if err != nil {
			return "", false, err
		}
		if m == nil {
			return "", false, &final{fmt.Errorf("session %s has no message %s", r.cfg.SessionB, s.msg.WAMessageID)}
		}
		if m.Type != "revoked" {
			return "", false, fmt.Errorf("%s on session %s is %s, not revoked", m.ID, r.cfg.SessionB, m.Type)
		}
		return m.ID + " revoked", true, nil
	})
}

// groupSteps: A makes a group with B, writes in it, B receives, both leave.
func (r *run) groupSteps(ctx context.Context, ready bool) {
	r.step(ctx, "group create", func(ctx context.Context) (string, error) {
		if !ready {
			return "", skip("sessions not ready")
		}
		var g struct {
			ID           string `json:"id"`
			Participants []struct {
				ID string `json:"id"`
			} `json:"participants"`
		}
		name := "OpenWA canary " + time.Now().UTC().Format("2006-01-02 15:04")
		if err := r.api.do(ctx, http.MethodPost, sessionPath(r.cfg.SessionA)+"/groups",
			map[string]any{"name": name, "participants": []string{r.phoneB}}, &g); err != nil {
			return "", err
		}
		r.group = g.ID
		for _, p := range g.Participants {
			if p.ID == r.jidB {
				return g.ID, nil
			}
		}
		return "", fmt.Errorf("group %s has no member %s: %+v", g.ID, r.jidB, g.Participants)
	})
	var waID string
	r.step(ctx, "group send", func(ctx context.Context) (string, error) {
		if r.group == "" {
			return "", skip("no group")
		}
		var m message
		if err := r.api.do(ctx, http.MethodPost, sessionPath(r.cfg.SessionA)+"/messages/send-text",
			map[string]any{"chatId": r.group, "text": "OpenWA canary: group"}, &m); err != nil {
			return "", err
		}
		waID = m.WAMessageID
		return fmt.Sprintf("%s %s %s", m.ID, m.WAMessageID, m.Status), nil
	})
	r.step(ctx, "group receive", func(ctx context.Context) (string, error) {
		if waID == "" {
			return "", skip("nothing sent")
		}
		return r.wait(ctx, func(ctx context.Context) (string, bool, error) {
			m, err := r.inbound(ctx, waID)
			if err != nil || m == nil {
				if err == nil {
					err = fmt.Errorf("session %s has no message %s", r.cfg.SessionB, waID)
				}
				return "", false, err
			}
			if m.ChatID != r.group || !r.fromA(m.From) || m.Text != "OpenWA canary: group" {
				return "", false, &final{fmt.Errorf("%s: chat %s from %s text %q, want %s from %s", m.ID, m.ChatID, m.From, m.Text, r.group, r.jidA)}
			}
			return m.ID, true, nil
		})
	})
	r.step(ctx, "group leave", func(ctx context.Context) (string, error) {
		if r.group == "" {
			return "", skip("no group")
		}
		var errs []error
		for _, id := range []string{r.cfg.SessionB, r.cfg.SessionA} {
			if err := r.api.do(ctx, http.MethodPost, sessionPath(id)+"/groups/"+url.PathEscape(r.group)+"/leave", nil, nil); err != nil {
				errs = append(errs, fmt.Errorf("session %s: %w", id, err))
			}
		}
		if err := errors.Join(errs...); err != nil {
			return "", err
		}
		var g any
		err := r.api.do(ctx, http.MethodGet, sessionPath(r.cfg.SessionA)+"/groups/"+url.PathEscape(r.group), nil, &g)
		var ae *apiError
		if !errors.As(err, &ae) || ae.Code != "GROUP_NOT_FOUND" {
			return "", fmt.Errorf("after leaving, GET the group: %v, want GROUP_NOT_FOUND", err)
		}
		return "both left", nil
	})
}
