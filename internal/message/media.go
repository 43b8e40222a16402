package message

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/media"
	"github.com/openwa/openwa/internal/netguard"
	"github.com/openwa/openwa/internal/store"
)

// MediaInput is media as a client gives it: bytes (decoded from base64 or a
// multipart part) or a URL to fetch, with what the client says it is.
type MediaInput struct {
	Data     []byte
	Base64   string
	URL      string
	Mimetype string
	Filename string
}

// accepted lists, per message type, the sniffed types WhatsApp takes. The
// client's mimetype is not trusted for these: the bytes decide.
var accepted = map[engine.MessageType][]string{
	engine.TypeImage:   {"image/jpeg", "image/png", "image/webp", "image/gif"},
	engine.TypeVideo:   {"video/mp4", "video/webm"},
	engine.TypeAudio:   {"audio/mpeg", "audio/ogg", "audio/wave", "audio/mp4"},
	engine.TypeVoice:   {"audio/ogg"},
	engine.TypeSticker: {"image/webp"},
}

// sniff names the bytes' type, with the names WhatsApp uses.
func sniff(data []byte, typ engine.MessageType) string {
	ct, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	switch {
	case ct == "application/ogg":
		return "audio/ogg"
	case ct == "video/mp4" && (typ == engine.TypeAudio || typ == engine.TypeVoice):
		return "audio/mp4" // an .m4a has the MP4 signature
	}
	return ct
}

// generic types say nothing beyond "some bytes": for documents the client's word is taken then.
var generic = []string{"application/octet-stream", "text/plain", "application/zip"}

// ingest gets the media's bytes, checks size and type, stores them and records them.
func (s *Service) ingest(ctx context.Context, sessionID string, typ engine.MessageType, in MediaInput) (*Media, error) {
	data, err := s.mediaBytes(ctx, in)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, apperr.Field("media", "the media is empty")
	}
	mt := sniff(data, typ)
	if allowed, ok := accepted[typ]; ok {
		if !slices.Contains(allowed, mt) {
			return nil, apperr.New(apperr.UnsupportedMedia, "%s is not a supported %s type; send one of %s",
				mt, typ, strings.Join(allowed, ", ")).With("mimetype", mt)
		}
	} else {
		mt = documentType(mt, in.Mimetype, in.Filename)
	}
	return s.storeMedia(ctx, sessionID, bytes.NewReader(data), int64(len(data)), mt, in.Filename)
}

// documentType picks a document's type: the sniffed one when the bytes say
// something specific, else what the client declared, else what the file
// name's extension says, else the sniffed generic type.
func documentType(sniffed, declared, filename string) string {
	if !slices.Contains(generic, sniffed) {
		return sniffed
	}
	if d := cleanMimetype(declared); d != "" && d != "application/octet-stream" {
		return d
	}
	if ext := path.Ext(filename); ext != "" {
		if t := cleanMimetype(mime.TypeByExtension(ext)); t != "" {
			return t
		}
	}
	return sniffed
}

func cleanMimetype(s string) string {
	mt, _, err := mime.ParseMediaType(s)
	if err != nil || !strings.Contains(mt, "/") || len(mt) > 128 {
		return ""
	}
	return mt
}

// storeMedia streams size bytes from r into storage and records them.
func (s *Service) storeMedia(ctx context.Context, sessionID string, r io.Reader, size int64, mimetype, filename string) (*Media, error) {
	filename = path.Base(strings.ReplaceAll(filename, "\\", "/"))
	if filename == "." || filename == "/" || len(filename) > 255 {
		filename = ""
	}
	id := ident.NewMedia()
	row := &store.Media{ID: id, SessionID: sessionID, StorageKey: "sessions/" + sessionID + "/media/" + id,
		Mimetype: mimetype, Size: size, Filename: filename, CreatedAt: store.Now()}
	if err := s.opts.Media.Put(ctx, row.StorageKey, r, size, mimetype); err != nil {
		return nil, apperr.New(apperr.ServiceUnavailable, "media storage failed").Wrap(err)
	}
	if err := s.opts.Store.CreateMedia(ctx, row); err != nil {
		_ = s.opts.Media.Delete(ctx, row.StorageKey)
		return nil, fmt.Errorf("record media: %w", err)
	}
	return s.mediaView(row), nil
}

func (s *Service) mediaView(row *store.Media) *Media {
	return &Media{ID: row.ID, Mimetype: row.Mimetype, Size: row.Size, Filename: row.Filename,
		URL: s.opts.BaseURL + "/api/sessions/" + row.SessionID + "/media/" + row.ID}
}

// mediaBytes reads the media from whichever form the client used, never more than MAX_UPLOAD_MB.
func (s *Service) mediaBytes(ctx context.Context, in MediaInput) ([]byte, error) {
	limit := s.opts.MaxUpload
	tooLarge := apperr.New(apperr.PayloadTooLarge, "the media is larger than MAX_UPLOAD_MB (%d MiB)", limit>>20).
		With("maxBytes", limit)
	switch {
	case in.Data != nil:
		if int64(len(in.Data)) > limit {
			return nil, tooLarge
		}
		return in.Data, nil
	case in.Base64 != "":
		if int64(base64.StdEncoding.DecodedLen(len(in.Base64))) > limit+3 {
			return nil, tooLarge
		}
		b64 := in.Base64
		if i := strings.Index(b64, ";base64,"); strings.HasPrefix(b64, "data:") && i > 0 {
			b64 = b64[i+len(";base64,"):] // a data URL
		}
		data, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, apperr.Field("media.data", "not valid base64 (standard alphabet, with padding)")
		}
		if int64(len(data)) > limit {
			return nil, tooLarge
		}
		return data, nil
	case in.URL != "":
		return s.fetch(ctx, in.URL, tooLarge)
	}
	return nil, apperr.Field("media", "give media.url, media.data (base64) or a file part")
}

// fetch downloads a media URL through the guarded client.
func (s *Service) fetch(ctx context.Context, raw string, tooLarge error) ([]byte, error) {
	u, err := netguard.CheckURL(raw, s.opts.AllowPrivate)
	if err != nil {
		return nil, apperr.Field("media.url", err.Error())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, apperr.Field("media.url", "not a valid URL")
	}
	res, err := s.opts.Fetcher.Do(req)
	if err != nil {
		msg := "could not be fetched"
		switch {
		case errors.Is(err, netguard.ErrForbidden):
			msg = "points to a private or local address, which is not allowed"
		case errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Timeout"):
			msg = "did not answer in time"
		}
		return nil, apperr.Field("media.url", msg).Wrap(err)
	}
	defer res.Body.Close()
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return nil, apperr.Field("media.url", fmt.Sprintf("answered HTTP %d", res.StatusCode))
	}
	if res.ContentLength > s.opts.MaxUpload {
		return nil, tooLarge
	}
	var buf bytes.Buffer
	n, err := io.Copy(&buf, io.LimitReader(res.Body, s.opts.MaxUpload+1))
	if err != nil {
		return nil, apperr.Field("media.url", "the download broke off").Wrap(err)
	}
	if n > s.opts.MaxUpload {
		return nil, tooLarge
	}
	return buf.Bytes(), nil
}

// OpenMedia returns a stored media's row and bytes.
// When the storage gives direct download URLs (S3), redirect is a signed URL
// and there is no reader; otherwise the caller streams the reader and closes it.
func (s *Service) OpenMedia(ctx context.Context, sessionID, id string) (m *Media, r io.ReadCloser, redirect string, err error) {
	row, err := s.opts.Store.GetMedia(ctx, sessionID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, "", apperr.New(apperr.MediaNotFound, "Media with id '%s' not found", id)
	}
	if err != nil {
		return nil, nil, "", fmt.Errorf("read media: %w", err)
	}
	m = s.mediaView(row)
	if redirect, err = s.signedURL(ctx, row, m.Disposition()); err != nil {
		return nil, nil, "", apperr.New(apperr.ServiceUnavailable, "media storage failed").Wrap(err)
	}
	if redirect != "" {
		return m, nil, redirect, nil
	}
	r, _, err = s.opts.Media.Get(ctx, row.StorageKey)
	if errors.Is(err, media.ErrNotFound) {
		return nil, nil, "", apperr.New(apperr.MediaNotFound, "the bytes of media '%s' are gone", id)
	}
	if err != nil {
		return nil, nil, "", apperr.New(apperr.ServiceUnavailable, "media storage failed").Wrap(err)
	}
	return m, r, "", nil
}

// signedURLTTL is how long a cached signed URL is handed out; the storage
// signs them for an hour, so a client always gets one valid for 45 minutes or more.
const signedURLTTL = 15 * time.Minute

// signedURL returns the storage's direct URL for a blob ("" for local
// storage), from the cache while one is fresh.
func (s *Service) signedURL(ctx context.Context, row *store.Media, disposition string) (string, error) {
	key := "mediaurl:" + row.ID
	if s.opts.Cache != nil {
		if b, err := s.opts.Cache.Get(ctx, key); err == nil {
			return string(b), nil
		}
	}
	u, err := s.opts.Media.URL(ctx, row.StorageKey, disposition)
	if err == nil && u != "" && s.opts.Cache != nil {
		_ = s.opts.Cache.Set(ctx, key, []byte(u), signedURLTTL) // a cache that is away only costs a signature
	}
	return u, err
}

// Disposition is the Content-Disposition media is served with: only what
// browsers show harmlessly is inline; anything else (HTML, SVG, documents)
// downloads, so that it cannot run in OpenWA's (or the bucket's) origin.
func (m *Media) Disposition() string {
	disp := "attachment"
	switch m.Mimetype {
	case "image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm",
		"audio/mpeg", "audio/ogg", "audio/wave", "audio/mp4":
		disp = "inline"
	}
	if m.Filename != "" {
		disp = mime.FormatMediaType(disp, map[string]string{"filename": m.Filename})
	}
	return disp
}

// loadMedia reads a message's media bytes for the engine.
func (s *Service) loadMedia(ctx context.Context, sessionID string, m *Media) (*engine.Media, error) {
	row, err := s.opts.Store.GetMedia(ctx, sessionID, m.ID)
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", m.ID, err)
	}
	r, _, err := s.opts.Media.Get(ctx, row.StorageKey)
	if err != nil {
		return nil, fmt.Errorf("media %s: %w", m.ID, err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return &engine.Media{Data: data, Mimetype: row.Mimetype, Filename: row.Filename}, nil
}
