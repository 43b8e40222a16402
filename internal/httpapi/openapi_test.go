package httpapi_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestOpenAPILint lints the published document with Redocly's recommended
// rules, strict (tools/openapi-lint): no error, no warning, only the
// problems listed with their reason in its .redocly.lint-ignore.yaml.
func TestOpenAPILint(t *testing.T) {
	dir, _ := filepath.Abs("../../tools/openapi-lint")
	node, err := exec.LookPath("node")
	redocly := filepath.Join(dir, "node_modules", "@redocly", "cli", "bin", "cli.js")
	if _, statErr := os.Stat(redocly); err != nil || statErr != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or @redocly/cli is missing (npm ci --prefix tools/openapi-lint): %v %v", err, statErr)
		}
		t.Skip("node or tools/openapi-lint/node_modules missing: run npm ci --prefix tools/openapi-lint")
	}
	e := newEnv(t, nil)
	r := e.do("GET", "/openapi.json", nil, noKey())
	e.expect(r, 200, "")
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "openapi.json"), r.Raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"redocly.yaml", ".redocly.lint-ignore.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command(node, redocly, "lint", "--format=stylish", "openapi.json")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "REDOCLY_TELEMETRY=off", "REDOCLY_SUPPRESS_UPDATE_NOTICE=true")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redocly lint: %v\n%s", err, out)
	}
}
