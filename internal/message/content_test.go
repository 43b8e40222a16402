package message

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"testing"

	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/store"
)

// fill sets every field reachable from v to a value that is not zero, so that
// a field added to engine.Content is covered without editing this test.
func fill(t *testing.T, v reflect.Value, path string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(path)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint32, reflect.Uint64:
		v.Set(reflect.ValueOf(7).Convert(v.Type()))
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1.5)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(t, v.Elem(), path)
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes([]byte(path))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		fill(t, v.Index(0), path+"[0]")
		fill(t, v.Index(1), path+"[1]")
	case reflect.Struct:
		for i := range v.NumField() {
			fill(t, v.Field(i), path+"."+v.Type().Field(i).Name)
		}
	case reflect.Func:
		// a runtime hook of the media bytes (engine.Media.Open), never stored
	default:
		t.Fatalf("%s: no test value for a %s; teach fill", path, v.Kind())
	}
}

// engine.Content survives the stored form (the JSON of messages.content)
// whole, every field included; only the media bytes are stored apart.
func TestContentRoundTrip(t *testing.T) {
	var in engine.Content
	fill(t, reflect.ValueOf(&in).Elem(), "c")
	b, err := json.Marshal(stored(in))
	if err != nil {
		t.Fatal(err)
	}
	got := parseContent(quiet, "msg_test", b).engineContent()
	want := in
	want.Media = nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("stored\n %+v\nread back\n %+v\nfrom %s", want, got, b)
	}
	if stored(in).Content.Media != nil {
		t.Fatal("media bytes went into the stored content")
	}
	if in.Media == nil || len(in.Media.Data) == 0 {
		t.Fatal("the caller's content lost its media")
	}
}

// The stored form keeps the keys rows already hold (a new version reads old rows).
func TestStoredContentKeys(t *testing.T) {
	row := []byte(`{"text":"hi","caption":"c","replyTo":"W1","quoted":{"sender":"s","text":"q"},"mentions":["m"],` +
		`"media":{"id":"med_1","mimetype":"image/png","size":3,"url":"u"},"location":{"latitude":1,"longitude":2},` +
		`"contacts":[{"name":"n","phone":"p"}],"reaction":{"messageId":"W2","emoji":"x"},` +
		`"poll":{"name":"p","options":["a"],"multipleAnswers":true},"pushName":"P","fromLid":"L","chatLid":"CL"}`)
	c := parseContent(quiet, "msg_test", row)
	if c.Text != "hi" || c.Caption != "c" || c.ReplyTo != "W1" || c.Quoted.Text != "q" || c.Mentions[0] != "m" ||
		c.Media.ID != "med_1" || c.Location.Longitude != 2 || c.Contacts[0].Phone != "p" || c.Reaction.Emoji != "x" ||
		!c.Poll.MultipleAnswers || c.PushName != "P" || c.FromLID != "L" || c.ChatLID != "CL" {
		t.Fatalf("read %+v", c)
	}
	var back, orig map[string]any
	b, _ := json.Marshal(c)
	_ = json.Unmarshal(b, &back)
	_ = json.Unmarshal(row, &orig)
	if !reflect.DeepEqual(back, orig) {
		t.Fatalf("rewritten as %s", b)
	}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// A stored content that does not decode is logged with its row id, and the
// message is still shown.
func TestUndecodableContentIsLogged(t *testing.T) {
	var buf bytes.Buffer
	s := &Service{log: slog.New(slog.NewTextHandler(&buf, nil))}
	m := s.view(&store.Message{ID: "msg_bad", SessionID: "s", Type: "text", Status: "read", Content: []byte("{not json")})
	if m.ID != "msg_bad" || !strings.Contains(buf.String(), "row_id=msg_bad") {
		t.Fatalf("view %+v, log %q", m, buf.String())
	}
}
