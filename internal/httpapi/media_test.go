package httpapi_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/png"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openwa/openwa/internal/media/mediatest"
	"github.com/openwa/openwa/internal/testutil"
)

func pngBytes(t *testing.T) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var (
	pdfBytes = []byte("%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF")
	oggBytes = append([]byte("OggS\x00\x02"), make([]byte, 64)...)
)

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// multipartBody builds a multipart/form-data body with fields and, if data is not nil, a file part.
func multipartBody(t *testing.T, fields map[string]string, filename string, data []byte) (string, []byte) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	if data != nil {
		fw, err := w.CreateFormFile("file", filename)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
	}
	w.Close()
	return w.FormDataContentType(), b.Bytes()
}

func (e *env) ledger(session string) []any {
	e.t.Helper()
	r := e.do("GET", "/api/sessions/"+session+"/mock/sent", nil)
	e.expect(r, 200, "")
	return r.data()["messages"].([]any)
}

func TestSendMedia(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_UPLOAD_MB": "1", "MEDIA_ALLOW_PRIVATE": "true"})
	e.createSession("m", true)
	e.waitStatus("m", "READY")
	img := pngBytes(t)

	t.Run("image as base64, type from the bytes", func(t *testing.T) {
		r := e.do("POST", "/api/sessions/m/messages/send-image", map[string]any{"chatId": "6281234567890",
			"media": map[string]any{"data": b64(img)}, "mimetype": "image/jpeg", "caption": "look"})
		e.expect(r, 201, "")
		md := r.data()["media"].(map[string]any)
		if r.data()["type"] != "image" || r.data()["caption"] != "look" || md["mimetype"] != "image/png" || md["size"] != float64(len(img)) {
			t.Fatalf("message: %v", r.data())
		}
		u := strings.TrimPrefix(md["url"].(string), "http://localhost:2785")
		got := e.do("GET", u, nil)
		if got.Status != 200 || !bytes.Equal(got.Raw, img) || got.Header.Get("Content-Type") != "image/png" ||
			(e.cfg.StorageType == "local" && got.Header.Get("X-Content-Type-Options") != "nosniff") {
			t.Fatalf("GET media: %d %v", got.Status, got.Header)
		}
		last := e.ledger("m")
		sent := last[len(last)-1].(map[string]any)
		if sent["mimetype"] != "image/png" || sent["mediaSize"] != float64(len(img)) || sent["type"] != "image" {
			t.Fatalf("the engine got %v", sent)
		}
	})
	t.Run("document by multipart, client's type kept when the bytes say nothing", func(t *testing.T) {
		ct, body := multipartBody(t, map[string]string{"chatId": "6281234567890", "mimetype": "text/csv"}, "report.csv", []byte("a,b\n1,2\n"))
		r := e.do("POST", "/api/sessions/m/messages/send-document", body, header("Content-Type", ct))
		e.expect(r, 201, "")
		md := r.data()["media"].(map[string]any)
		if md["mimetype"] != "text/csv" || md["filename"] != "report.csv" {
			t.Fatalf("document: %v", md)
		}
		got := e.do("GET", strings.TrimPrefix(md["url"].(string), "http://localhost:2785"), nil)
		if !strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") ||
			!strings.Contains(got.Header.Get("Content-Disposition"), "report.csv") {
			t.Fatalf("a document must download, not render: %v", got.Header)
		}
	})
	t.Run("media from a URL", func(t *testing.T) {
		src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/a.png":
				w.Write(img)
			case "/big":
				w.Write(make([]byte, 2<<20))
			default:
				http.NotFound(w, r)
			}
		}))
		defer src.Close()
		r := e.do("POST", "/api/sessions/m/messages/send-image", map[string]any{"chatId": "6281234567890",
			"media": map[string]any{"url": src.URL + "/a.png"}})
		e.expect(r, 201, "")
		e.expect(e.do("POST", "/api/sessions/m/messages/send-image", map[string]any{"chatId": "6281234567890",
			"media": map[string]any{"url": src.URL + "/missing.png"}}), 400, "VALIDATION_ERROR")
		e.expect(e.do("POST", "/api/sessions/m/messages/send-document", map[string]any{"chatId": "6281234567890",
			"media": map[string]any{"url": src.URL + "/big"}}), 413, "PAYLOAD_TOO_LARGE")
	})
	t.Run("voice note", func(t *testing.T) {
		r := e.do("POST", "/api/sessions/m/messages/send-audio", map[string]any{"chatId": "6281234567890",
			"media": map[string]any{"data": b64(oggBytes)}, "voice": true})
		e.expect(r, 201, "")
		if r.data()["type"] != "voice" || r.data()["media"].(map[string]any)["mimetype"] != "audio/ogg" {
			t.Fatalf("voice: %v", r.data())
		}
	})
	t.Run("inbound media is stored", func(t *testing.T) {
		e.expect(e.do("POST", "/api/sessions/m/mock/inbound", map[string]any{"from": "6281111111111", "type": "image",
			"caption": "from a friend", "media": map[string]any{"data": b64(img), "mimetype": "image/png"}}), 202, "")
		var in map[string]any
		testutil.Eventually(t, 10*time.Second, func() bool {
			l := e.do("GET", "/api/sessions/m/messages?direction=in", nil).list()
			if len(l) == 1 {
				in = l[0].(map[string]any)
			}
			return in != nil
		}, "one inbound message")
		md, _ := in["media"].(map[string]any)
		if md == nil || md["mimetype"] != "image/png" {
			t.Fatalf("inbound: %v", in)
		}
		if got := e.do("GET", strings.TrimPrefix(md["url"].(string), "http://localhost:2785"), nil); !bytes.Equal(got.Raw, img) {
			t.Fatal("inbound bytes differ")
		}
	})
}

func TestSendMediaErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t, map[string]string{"MAX_UPLOAD_MB": "1"})
	e.createSession("m", true)
	e.waitStatus("m", "READY")
	img := pngBytes(t)
	big := make([]byte, 1<<20+10)
	// A loopback listener that is closed: nothing answers there.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := "http://" + ln.Addr().String() + "/x.png"
	ln.Close()
	for _, c := range []struct {
		name, route string
		body        map[string]any
		status      int
		code        string
	}{
		{"PDF as an image", "send-image", map[string]any{"media": map[string]any{"data": b64(pdfBytes)}}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"PNG as a sticker", "send-sticker", map[string]any{"media": map[string]any{"data": b64(img)}}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"PNG as a voice note", "send-audio", map[string]any{"media": map[string]any{"data": b64(img)}, "voice": true}, 415, "UNSUPPORTED_MEDIA_TYPE"},
		{"voice on an image", "send-image", map[string]any{"media": map[string]any{"data": b64(img)}, "voice": true}, 400, "VALIDATION_ERROR"},
		{"bad base64", "send-image", map[string]any{"media": map[string]any{"data": "not*base64!"}}, 400, "VALIDATION_ERROR"},
		{"no media", "send-image", map[string]any{}, 400, "VALIDATION_ERROR"},
		{"url and data", "send-image", map[string]any{"media": map[string]any{"data": b64(img), "url": "https://example.com/a.png"}}, 400, "VALIDATION_ERROR"},
		{"empty media", "send-document", map[string]any{"media": map[string]any{"data": ""}}, 400, "VALIDATION_ERROR"},
		{"too large", "send-document", map[string]any{"media": map[string]any{"data": b64(big)}}, 413, "PAYLOAD_TOO_LARGE"},
		{"private URL", "send-image", map[string]any{"media": map[string]any{"url": "http://127.0.0.1:9/x.png"}}, 400, "VALIDATION_ERROR"},
		{"metadata URL", "send-image", map[string]any{"media": map[string]any{"url": "http://169.254.169.254/latest"}}, 400, "VALIDATION_ERROR"},
		{"name resolving to loopback", "send-image", map[string]any{"media": map[string]any{"url": "http://localhost:9/x.png"}}, 400, "VALIDATION_ERROR"},
		{"not http", "send-image", map[string]any{"media": map[string]any{"url": "file:///etc/passwd"}}, 400, "VALIDATION_ERROR"},
		{"unreachable URL", "send-image", map[string]any{"media": map[string]any{"url": closed}}, 400, "VALIDATION_ERROR"},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.body["chatId"] = "6281234567890"
			e.expect(e.do("POST", "/api/sessions/m/messages/"+c.route, c.body), c.status, c.code)
		})
	}
	t.Run("multipart without a file", func(t *testing.T) {
		ct, body := multipartBody(t, map[string]string{"chatId": "6281234567890"}, "", nil)
		e.expect(e.do("POST", "/api/sessions/m/messages/send-image", body, header("Content-Type", ct)), 400, "VALIDATION_ERROR")
	})
	t.Run("multipart too large", func(t *testing.T) {
		ct, body := multipartBody(t, map[string]string{"chatId": "6281234567890"}, "big.bin", big)
		e.expect(e.do("POST", "/api/sessions/m/messages/send-document", body, header("Content-Type", ct)), 413, "PAYLOAD_TOO_LARGE")
	})
	t.Run("multipart with an unknown field", func(t *testing.T) {
		ct, body := multipartBody(t, map[string]string{"chatId": "6281234567890", "colour": "red"}, "a.png", img)
		e.expect(e.do("POST", "/api/sessions/m/messages/send-image", body, header("Content-Type", ct)), 400, "VALIDATION_ERROR")
	})
	t.Run("media lookups", func(t *testing.T) {
		e.expect(e.do("GET", "/api/sessions/m/media/med_000000000000000000000000", nil), 404, "MEDIA_NOT_FOUND")
		e.expect(e.do("GET", "/api/sessions/m/media/..%2F..%2Fetc%2Fpasswd", nil), 400, "VALIDATION_ERROR")
		e.expect(e.do("GET", "/api/sessions/m/media/med_000000000000000000000000", nil, noKey()), 401, "UNAUTHORIZED")
	})
	// Nothing of the refused requests was stored.
	if n := e.do("GET", "/api/sessions/m/messages", nil).Body["pagination"].(map[string]any)["total"]; n != 0.0 {
		t.Fatalf("%v messages stored by refused requests", n)
	}
}

func TestDeleteSessionRemovesMedia(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.createSession("gone", true)
	e.waitStatus("gone", "READY")
	r := e.do("POST", "/api/sessions/gone/messages/send-image", map[string]any{"chatId": "6281234567890",
		"media": map[string]any{"data": b64(pngBytes(t))}})
	e.expect(r, 201, "")
	key := "sessions/gone/media/" + r.data()["media"].(map[string]any)["id"].(string)
	blobs := e.mediaStore()
	if ok, err := blobs.Exists(context.Background(), key); !ok || err != nil {
		t.Fatalf("the media is not stored: %v", err)
	}
	e.expect(e.do("DELETE", "/api/sessions/gone", nil), 200, "")
	if ok, err := blobs.Exists(context.Background(), key); ok || err != nil {
		t.Fatalf("media left behind: %v", err)
	}
}

// On S3 the media route redirects to a signed URL; the URL is cached, so
// repeated downloads do not sign again.
func TestMediaRedirectsToSignedURL(t *testing.T) {
	t.Parallel()
	c := mediatest.S3Config(t)
	e := newEnv(t, map[string]string{"STORAGE_TYPE": "s3", "STORAGE_S3_BUCKET": c.Bucket, "STORAGE_S3_ENDPOINT": c.Endpoint,
		"STORAGE_S3_ACCESS_KEY_ID": c.AccessKeyID, "STORAGE_S3_SECRET_ACCESS_KEY": c.SecretAccessKey,
		"STORAGE_S3_FORCE_PATH_STYLE": "true"})
	e.createSession("m", true)
	e.waitStatus("m", "READY")
	r := e.do("POST", "/api/sessions/m/messages/send-document", map[string]any{"chatId": "6281234567890",
		"media": map[string]any{"data": b64([]byte("<html>not here</html>"))}, "filename": "page.html"})
	e.expect(r, 201, "")
	path := strings.TrimPrefix(r.data()["media"].(map[string]any)["url"].(string), "http://localhost:2785")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var locations []string
	for range 2 {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("X-API-Key", adminKey)
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusFound || !strings.HasPrefix(res.Header.Get("Location"), c.Endpoint) {
			t.Fatalf("media on S3: %d %q", res.StatusCode, res.Header.Get("Location"))
		}
		locations = append(locations, res.Header.Get("Location"))
	}
	if locations[0] != locations[1] {
		t.Fatal("the signed URL was not cached")
	}
	// Following it downloads the bytes, as an attachment (HTML must not render).
	got, err := http.Get(locations[0])
	if err != nil {
		t.Fatal(err)
	}
	defer got.Body.Close()
	if got.StatusCode != 200 || !strings.HasPrefix(got.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("signed URL: %d %v", got.StatusCode, got.Header)
	}
}
