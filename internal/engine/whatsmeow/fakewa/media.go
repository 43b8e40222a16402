package fakewa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"go.mau.fi/whatsmeow"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/cbcutil"
	"go.mau.fi/whatsmeow/util/hkdfutil"
)

// The media host: WhatsApp's clients upload encrypted media over HTTPS and
// download it by path. Here both go to the same loopback listener as the
// websocket (the client's transport sends every host there).

const mediaHost = "mmg.whatsapp.net"

func (s *Server) mediaConn() []waBinary.Node {
	return []waBinary.Node{{Tag: "media_conn", Attrs: waBinary.Attrs{"auth": "fake-media-auth", "ttl": 3600,
		"auth_ttl": 3600, "max_buckets": 12}, Content: []waBinary.Node{{Tag: "host", Attrs: waBinary.Attrs{"hostname": mediaHost}}}}}
}

// serveMedia takes uploads (POST /mms/TYPE/TOKEN) and serves downloads (GET
// /v/fake/N.enc); it reports false for requests that are not about media.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) bool {
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/mms/"):
		if r.URL.Query().Get("auth") != "fake-media-auth" {
			http.Error(w, "bad auth", http.StatusUnauthorized)
			return true
		}
		data, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return true
		}
		path := s.storeMedia(data)
		fmt.Fprintf(w, `{"url":"https://%s%s","direct_path":"%s"}`, mediaHost, path, path)
		return true
	case r.Method == http.MethodDelete && strings.HasPrefix(r.URL.Path, "/mms/"):
		// A device deleting what it downloaded (a history sync's blob): d_md names the path.
		if r.URL.Query().Get("auth") != "fake-media-auth" {
			http.Error(w, "bad auth", http.StatusUnauthorized)
			return true
		}
		path, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("d_md"))
		if err != nil {
			http.Error(w, "bad d_md", http.StatusBadRequest)
			return true
		}
		s.mu.Lock()
		delete(s.media, string(path))
		s.mu.Unlock()
		return true
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/v/fake/"):
		s.mu.Lock()
		data, ok := s.media[r.URL.Path]
		gate, waiting := s.mediaGate, s.mediaWaiting
		s.mu.Unlock()
		if gate != nil {
			select {
			case waiting <- r.URL.Path:
			default:
			}
			select {
			case <-gate:
			case <-r.Context().Done():
				return true
			}
		}
		if !ok || data == nil {
			http.NotFound(w, r)
			return true
		}
		_, _ = w.Write(data)
		return true
	}
	return false
}

// storeMedia keeps encrypted bytes and returns their direct path.
func (s *Server) storeMedia(data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	path := fmt.Sprintf("/v/fake/%d.enc", len(s.media)+1)
	s.media[path] = data
	return path + "?ccb=11-4"
}

// Downloadable is media in a message (image, video, audio, document, sticker).
type Downloadable = whatsmeow.DownloadableMessage

// Media fetches and decrypts media the linked device uploaded, as its recipient would.
func (s *Server) Media(m Downloadable) ([]byte, error) {
	path, _, _ := strings.Cut(m.GetDirectPath(), "?")
	s.mu.Lock()
	enc, ok := s.media[path]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no media at %q", m.GetDirectPath())
	}
	if sum := sha256.Sum256(enc); !hmac.Equal(sum[:], m.GetFileEncSHA256()) || len(enc) < 10 {
		return nil, errors.New("encrypted media hash mismatch")
	}
	iv, key, macKey := mediaKeys(m.GetMediaKey(), whatsmeow.GetMediaType(m))
	body, mac := enc[:len(enc)-10], enc[len(enc)-10:]
	h := hmac.New(sha256.New, macKey)
	h.Write(iv)
	h.Write(body)
	if !hmac.Equal(h.Sum(nil)[:10], mac) {
		return nil, errors.New("media MAC mismatch")
	}
	plain, err := cbcutil.Decrypt(key, iv, body)
	if err != nil {
		return nil, err
	}
	if sum := sha256.Sum256(plain); !hmac.Equal(sum[:], m.GetFileSHA256()) {
		return nil, errors.New("media hash mismatch")
	}
	return plain, nil
}

// Uploaded is what a media message carries about its upload.
type Uploaded struct {
	MediaKey, FileEncSHA256, FileSHA256 []byte
	DirectPath, URL                     string
	FileLength                          uint64
}

// Upload stores plain as a contact's client would upload it for a message of kind typ.
func (s *Server) Upload(plain []byte, typ whatsmeow.MediaType) (*Uploaded, error) {
	u := &Uploaded{MediaKey: make([]byte, 32), FileLength: uint64(len(plain))}
	_, _ = rand.Read(u.MediaKey)
	iv, key, macKey := mediaKeys(u.MediaKey, typ)
	body, err := cbcutil.Encrypt(key, iv, plain)
	if err != nil {
		return nil, err
	}
	h := hmac.New(sha256.New, macKey)
	h.Write(iv)
	h.Write(body)
	enc := append(body, h.Sum(nil)[:10]...)
	encSum, sum := sha256.Sum256(enc), sha256.Sum256(plain)
	u.FileEncSHA256, u.FileSHA256 = encSum[:], sum[:]
	u.DirectPath = s.storeMedia(enc)
	u.URL = "https://" + mediaHost + u.DirectPath
	return u, nil
}

// Image is an image message carrying the upload.
func (u *Uploaded) Image(mimetype, caption string) *waE2E.Message {
	img := &waE2E.ImageMessage{URL: &u.URL, DirectPath: &u.DirectPath, MediaKey: u.MediaKey, FileEncSHA256: u.FileEncSHA256,
		FileSHA256: u.FileSHA256, FileLength: &u.FileLength, Mimetype: &mimetype}
	if caption != "" {
		img.Caption = &caption
	}
	return &waE2E.Message{ImageMessage: img}
}

func mediaKeys(mediaKey []byte, typ whatsmeow.MediaType) (iv, key, mac []byte) {
	x := hkdfutil.SHA256(mediaKey, nil, []byte(typ), 112)
	return x[:16], x[16:48], x[48:80]
}

// picture answers a profile picture query: the contact's picture, or 404.
func (s *Server) picture(n *waBinary.Node) ([]waBinary.Node, *waBinary.Node) {
	target, _ := n.Attrs["target"].(types.JID)
	ct := s.contact(target.User)
	if ct == nil || ct.Picture == "" {
		e := iqError(404, "item-not-found")
		return nil, &e
	}
	return []waBinary.Node{{Tag: "picture", Attrs: waBinary.Attrs{"id": "1", "type": "image", "url": ct.Picture,
		"direct_path": "/v/pp/" + ct.JID.User}}}, nil
}

// blocklist blocks and unblocks (set) and lists (get) the users the linked account blocked.
func (s *Server) blocklist(n *waBinary.Node) []waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if item, ok := n.GetOptionalChildByTag("item"); ok {
		jid, _ := item.Attrs["jid"].(types.JID)
		if item.Attrs["action"] == "block" {
			s.blocked[jid.User] = true
		} else {
			delete(s.blocked, jid.User)
		}
	}
	var items []waBinary.Node
	for user := range s.blocked {
		items = append(items, waBinary.Node{Tag: "item", Attrs: waBinary.Attrs{"jid": types.NewJID(user, types.HiddenUserServer)}})
	}
	return []waBinary.Node{{Tag: "list", Attrs: waBinary.Attrs{"dhash": fmt.Sprint(len(items))}, Content: items}}
}

// Blocked tells whether the linked account blocked the contact.
func (s *Server) Blocked(c *Contact) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.blocked[c.LID.User]
}

// Expire removes an upload from the media host, as WhatsApp does after some
// weeks: a download of it is a 404.
func (s *Server) Expire(u *Uploaded) {
	path, _, _ := strings.Cut(u.DirectPath, "?")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.media[path] = nil // kept as a tombstone, so that no later upload takes its path
}
