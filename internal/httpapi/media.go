package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/ident"
	"github.com/openwa/openwa/internal/message"
)

// MediaSource is where media comes from: a URL to fetch or base64 bytes.
type MediaSource struct {
	URL  string `json:"url,omitempty" maxLength:"2048" doc:"An http(s) URL OpenWA downloads (public addresses only unless MEDIA_ALLOW_PRIVATE)."`
	Data string `json:"data,omitempty" doc:"The bytes, base64 (standard alphabet), or a data: URL."`
}

type sendMediaInput struct {
	SessionPath
	SendOptions
	Body struct {
		ChatID   string       `json:"chatId" minLength:"1" maxLength:"128"`
		Media    *MediaSource `json:"media,omitempty" doc:"Required, unless the request is multipart/form-data with a file part."`
		Mimetype string       `json:"mimetype,omitempty" maxLength:"128" doc:"Used for documents whose bytes do not say; otherwise the bytes decide."`
		Filename string       `json:"filename,omitempty" maxLength:"255"`
		Caption  string       `json:"caption,omitempty" maxLength:"4096"`
		ReplyTo  string       `json:"replyTo,omitempty" maxLength:"128"`
		Voice    bool         `json:"voice,omitempty" doc:"send-audio only: send as a voice note (OGG/Opus)."`
	}
}

// upload is a multipart file part, set aside by the multipart adapter.
type upload struct {
	data     []byte
	filename string
	mimetype string
}

var mediaRoute = regexp.MustCompile(`^/api/sessions/` + ident.SessionExpr + `/messages/send-(image|video|audio|document|sticker)$`)

type getMediaInput struct {
	SessionPath
	MediaID string `path:"mediaId" pattern:"^med_[a-f0-9]{24}$"`
}

func (s *Server) mediaRoutes() {
	tag := "Messages"
	huma.Register(s.api, s.sendMediaOp("send-image", "Send an image", tag), s.sendImage)
	huma.Register(s.api, s.sendMediaOp("send-video", "Send a video", tag), s.sendVideo)
	huma.Register(s.api, s.sendMediaOp("send-audio", "Send an audio", tag), s.sendAudio)
	huma.Register(s.api, s.sendMediaOp("send-document", "Send a document", tag), s.sendDocument)
	huma.Register(s.api, s.sendMediaOp("send-sticker", "Send a sticker", tag), s.sendSticker)
	for _, id := range []string{"send-image", "send-video", "send-audio", "send-document", "send-sticker"} {
		s.declareMultipart("/api/sessions/{id}/messages/" + id)
	}
	huma.Register(s.api, op(scopeSession, "get-media", http.MethodGet, "/api/sessions/{id}/media/{mediaId}", "The bytes of a message's media", tag), s.getMedia)
}

// sendMediaOp describes the media send route of operation id.
func (s *Server) sendMediaOp(id, summary, tag string) huma.Operation {
	o := withErrors(op(scopeSession, id, http.MethodPost, "/api/sessions/{id}/messages/"+id, summary+
		": JSON with media.url or media.data, or multipart/form-data with the same fields and a file part. "+
		"201 when it went out within SEND_WAIT_MS, 202 while it is still queued.", tag),
		append([]int{http.StatusConflict}, engineErrors...)...)
	o.DefaultStatus = http.StatusCreated
	o.MaxBodyBytes = s.maxBody
	o.Responses = s.acceptedResponse()
	return o
}

func (s *Server) sendImage(ctx context.Context, in *sendMediaInput) (*Out[*message.Message], error) {
	return s.sendMedia(ctx, in, "send-image", engine.TypeImage)
}

func (s *Server) sendVideo(ctx context.Context, in *sendMediaInput) (*Out[*message.Message], error) {
	return s.sendMedia(ctx, in, "send-video", engine.TypeVideo)
}

func (s *Server) sendAudio(ctx context.Context, in *sendMediaInput) (*Out[*message.Message], error) {
	return s.sendMedia(ctx, in, "send-audio", engine.TypeAudio)
}

func (s *Server) sendDocument(ctx context.Context, in *sendMediaInput) (*Out[*message.Message], error) {
	return s.sendMedia(ctx, in, "send-document", engine.TypeDocument)
}

func (s *Server) sendSticker(ctx context.Context, in *sendMediaInput) (*Out[*message.Message], error) {
	return s.sendMedia(ctx, in, "send-sticker", engine.TypeSticker)
}

// sendMedia sends the media of route (its operation id) as a message of kind.
func (s *Server) sendMedia(ctx context.Context, in *sendMediaInput, route string, kind engine.MessageType) (*Out[*message.Message], error) {
	b := in.Body
	typ := kind
	if b.Voice {
		if kind != engine.TypeAudio {
			return nil, fieldErr("voice", "only send-audio sends voice notes")
		}
		typ = engine.TypeVoice
	}
	mi := &message.MediaInput{Mimetype: b.Mimetype, Filename: b.Filename}
	if up := infoOf(ctx).upload; up != nil {
		mi.Data = up.data
		if mi.Filename == "" {
			mi.Filename = up.filename
		}
		if mi.Mimetype == "" {
			mi.Mimetype = up.mimetype
		}
	} else if b.Media != nil {
		if (b.Media.URL == "") == (b.Media.Data == "") {
			return nil, fieldErr("media", "give exactly one of media.url and media.data")
		}
		mi.URL, mi.Base64 = b.Media.URL, b.Media.Data
	} else {
		return nil, fieldErr("media", "required: media.url, media.data or a multipart file part")
	}
	out := engine.Outgoing{Type: typ, Content: engine.Content{Caption: b.Caption, ReplyTo: b.ReplyTo}}
	return s.send(ctx, in.ID, &in.SendOptions, route, b, b.ChatID, out, mi)
}

func (s *Server) getMedia(ctx context.Context, in *getMediaInput) (*huma.StreamResponse, error) {
	if err := s.sessionExists(ctx, in.ID); err != nil {
		return nil, err
	}
	m, r, redirect, err := s.opts.Messages.OpenMedia(ctx, in.ID, in.MediaID)
	if err != nil {
		return nil, err
	}
	if redirect != "" {
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			hctx.SetHeader("Location", redirect)
			hctx.SetHeader("Cache-Control", "private, no-store")
			hctx.SetStatus(http.StatusFound)
		}}, nil
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		defer r.Close()
		hctx.SetHeader("Content-Type", m.Mimetype)
		hctx.SetHeader("Content-Length", strconv.FormatInt(m.Size, 10))
		hctx.SetHeader("X-Content-Type-Options", "nosniff")
		hctx.SetHeader("Cache-Control", "private, max-age=3600")
		hctx.SetHeader("Content-Disposition", m.Disposition())
		hctx.SetStatus(http.StatusOK)
		_, _ = io.Copy(hctx.BodyWriter(), r)
	}}, nil
}

// declareMultipart adds the multipart/form-data form of a media route to the spec.
func (s *Server) declareMultipart(path string) {
	str := func(doc string) *huma.Schema { return &huma.Schema{Type: "string", Description: doc} }
	rb := s.api.OpenAPI().Paths[path].Post.RequestBody
	rb.Content["multipart/form-data"] = &huma.MediaType{Schema: &huma.Schema{
		Type:     "object",
		Required: []string{"chatId", "file"},
		Properties: map[string]*huma.Schema{
			"chatId": str("The chat."), "caption": str(""), "filename": str("Default: the file part's name."),
			"mimetype": str("Used for documents whose bytes do not say."), "replyTo": str(""),
			"voice": {Type: "boolean", Description: "send-audio only: a voice note."},
			"file":  {Type: "string", Format: "binary", Description: "The media."},
		},
	}}
}

// multipart turns a multipart/form-data request to a media route into the
// JSON the route takes, setting the file part aside for the handler, so that
// both forms share one operation, one validation and one spec.
func (s *Server) multipart(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if r.Method != http.MethodPost || ct != "multipart/form-data" || !mediaRoute.MatchString(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		fail := func(err error) {
			if bodyTimedOut(err) {
				writeResponse(w, timeoutResponse(infoOf(r.Context())))
				return
			}
			writeError(w, r, multipartErr(err))
		}
		mr, err := r.MultipartReader()
		if err != nil {
			writeError(w, r, apperr.Field("body", "not a valid multipart/form-data body"))
			return
		}
		fields := map[string]any{}
		var up *upload
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				fail(err)
				return
			}
			name := part.FormName()
			if name == "file" {
				if up != nil {
					writeError(w, r, apperr.Field("file", "send one file part"))
					return
				}
				data, err := io.ReadAll(io.LimitReader(part, int64(s.opts.Config.MaxUploadMB)<<20+1))
				if err != nil {
					fail(err)
					return
				}
				up = &upload{data: data, filename: part.FileName(), mimetype: part.Header.Get("Content-Type")}
				continue
			}
			val, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				fail(err)
				return
			}
			switch name {
			case "voice":
				b, err := strconv.ParseBool(string(val))
				if err != nil {
					writeError(w, r, apperr.Field("voice", "want true or false"))
					return
				}
				fields[name] = b
			default:
				fields[name] = string(val) // unknown names are refused by the route's validation
			}
		}
		if up == nil {
			writeError(w, r, apperr.Field("file", "a multipart request needs a file part"))
			return
		}
		body, _ := json.Marshal(fields)
		infoOf(r.Context()).upload = up
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		r.Header.Set("Content-Type", "application/json")
		next.ServeHTTP(w, r)
	})
}

func multipartErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || strings.Contains(err.Error(), "too large") {
		return apperr.New(apperr.PayloadTooLarge, "the request body is larger than the limit")
	}
	return apperr.Field("body", "the multipart body is malformed")
}
