package s3_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/media/mediatest"
	"github.com/openwa/openwa/internal/media/s3"
)

func TestConformance(t *testing.T) {
	st, err := s3.New(mediatest.S3Config(t))
	if err != nil {
		t.Fatal(err)
	}
	mediatest.Run(t, st)
}

// A signed URL downloads the blob without credentials.
func TestSignedURL(t *testing.T) {
	st, err := s3.New(mediatest.S3Config(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := st.Put(ctx, "sessions/s/media/a", strings.NewReader("hello"), 5, "text/plain"); err != nil {
		t.Fatal(err)
	}
	u, err := st.URL(ctx, "sessions/s/media/a", `attachment; filename="a.txt"`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || string(b) != "hello" || res.Header.Get("Content-Disposition") != `attachment; filename="a.txt"` {
		t.Fatalf("GET signed URL: %d %q", res.StatusCode, b)
	}
}
