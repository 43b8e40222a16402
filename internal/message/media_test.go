package message

import "testing"

func TestDocumentType(t *testing.T) {
	for _, c := range []struct{ sniffed, declared, filename, want string }{
		{"application/pdf", "text/plain", "a.pdf", "application/pdf"},               // the bytes win
		{"text/plain", "text/csv", "a.csv", "text/csv"},                             // the bytes say little
		{"text/plain", "application/octet-stream", "data.json", "application/json"}, // by extension
		{"application/zip", "", "report.zip", "application/zip"},
		{"application/octet-stream", "", "blob", "application/octet-stream"},
		{"text/plain", "not a type", "", "text/plain"},
	} {
		if got := documentType(c.sniffed, c.declared, c.filename); got != c.want {
			t.Errorf("%+v: %q", c, got)
		}
	}
}
