package canary

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// client speaks OpenWA's public HTTP API: the envelope {success, data,
// meta} and the error shape {success: false, error: {code, message}}.
type client struct {
	http *http.Client
	base string
	key  string
}

// message is the part of OpenWA's message object the canary reads.
type message struct {
	ID          string `json:"id"`
	WAMessageID string `json:"waMessageId"`
	ChatID      string `json:"chatId"`
	From        string `json:"from"`
	Type        string `json:"type"`
	Status      string `json:"status"`
	Text        string `json:"text"`
	Caption     string `json:"caption"`
	ReplyTo     string `json:"replyTo"`
	Media       *struct {
		ID       string `json:"id"`
		Mimetype string `json:"mimetype"`
		Size     int64  `json:"size"`
	} `json:"media"`
	Reaction *struct {
		MessageID string `json:"messageId"`
		Emoji     string `json:"emoji"`
	} `json:"reaction"`
	Poll *struct {
		Name    string   `json:"name"`
		Options []string `json:"options"`
	} `json:"poll"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
	} `json:"location"`
	Contacts []struct {
		Name  string `json:"name"`
		Phone string `json:"phone"`
	} `json:"contacts"`
}

// apiError is an answer other than 2xx.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// do sends a request with a JSON body (nil: none) and decodes the envelope's
// data into out (nil: ignored). A non-2xx answer is an *apiError.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(raw, &e)
		return &apiError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if out == nil {
		return nil
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return fmt.Errorf("%s %s: not an OpenWA answer: %w", method, path, err)
	}
	return json.Unmarshal(env.Data, out)
}

// raw fetches bytes (a media download), following a redirect to storage.
func (c *client) raw(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	if c.key != "" {
		req.Header.Set("X-API-Key", c.key)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, &apiError{Status: resp.StatusCode}
	}
	return io.ReadAll(io.LimitReader(resp.Body, 64<<20))
}

// session is the part of a session the canary reads.
type session struct {
	ID     string `json:"id"`
	Status string `json:"status"`
	Engine string `json:"engine"`
	Phone  string `json:"phone"`
}

// account is GET /api/sessions/{id}/me.
type account struct {
	ID  string `json:"id"`
	LID string `json:"lid"`
}

func sessionPath(id string) string { return "/api/sessions/" + id }

// trimURL drops a trailing slash so that paths join cleanly.
func trimURL(u string) string { return strings.TrimRight(u, "/") }
