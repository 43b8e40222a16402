package session

import (
	"net/url"
	"strings"

	"github.com/openwa/openwa/internal/apperr"
	"github.com/openwa/openwa/internal/engine"
	"github.com/openwa/openwa/internal/stamp"
	"github.com/openwa/openwa/internal/store"
)

// Config is a session's settings. Fields left out keep their defaults.
type Config struct {
	AutoStart *bool   `json:"autoStart,omitempty" doc:"Start the session when it is created and on every boot (default true)."`
	ProxyURL  *string `json:"proxyUrl,omitempty" maxLength:"512" doc:"Proxy for this session's WhatsApp connection (http, https or socks5 URL)."`
	// Each engine's own settings are the section named after it (see
	// engine/registry); the engine receives that section as it was given.
	Mock   *engine.MockConfig `json:"mock,omitempty" doc:"Settings of the mock engine."`
	Pacing *Pacing            `json:"pacing,omitempty" doc:"Send pacing, to keep the number clear of WhatsApp's spam limits."`
	// DownloadStatusMedia: statuses are many and short-lived; their media is fetched only when asked for.
	DownloadStatusMedia *bool `json:"downloadStatusMedia,omitempty" doc:"Download the media of statuses (stories) received (default false); applies from the next start."`
}

// Pacing slows and caps a session's sends.
type Pacing struct {
	MinIntervalMs int `json:"minIntervalMs,omitempty" minimum:"0" maximum:"3600000" doc:"At least this long between two sends."`
	JitterMs      int `json:"jitterMs,omitempty" minimum:"0" maximum:"3600000" doc:"Plus a random extra wait of up to this long."`
	DailyLimit    int `json:"dailyLimit,omitempty" minimum:"0" maximum:"1000000" doc:"At most this many messages accepted in any 24 hours; 0: no cap."`
}

// validate checks what the schema cannot: the proxy is a URL the engines can dial.
func (c Config) validate() error {
	if c.ProxyURL == nil || *c.ProxyURL == "" {
		return nil
	}
	u, err := url.Parse(*c.ProxyURL)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		return apperr.Field("config.proxyUrl", "want an http://, https:// or socks5:// URL with a host")
	}
	return nil
}

// keepOperatorSettings fills proxyUrl and pacing left out of c from cur and
// refuses other values: 403 FORBIDDEN naming the field. They are the
// operator's: the server dials the proxy, so choosing it would let a tenant
// probe the operator's network, and pacing keeps the number clear of
// WhatsApp's spam limits.
func keepOperatorSettings(c *Config, cur Config) error {
	if c.ProxyURL == nil {
		c.ProxyURL = cur.ProxyURL
	} else if !sameProxy(deref(c.ProxyURL), deref(cur.ProxyURL)) {
		return operatorField("config.proxyUrl")
	} else {
		c.ProxyURL = cur.ProxyURL // the stored one, with its password
	}
	if c.Pacing == nil {
		c.Pacing = cur.Pacing
	} else if pacingOf(c.Pacing) != pacingOf(cur.Pacing) {
		return operatorField("config.pacing")
	}
	return nil
}

// sameProxy reports whether given is cur, or cur as answers show it (its
// credentials masked): a client that sends back the config it read changes
// nothing.
func sameProxy(given, cur string) bool {
	return given == cur || given == MaskProxyURL(cur)
}

func operatorField(field string) error {
	return apperr.New(apperr.Forbidden, "only an admin key may set or change %s", field).With("field", field)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func pacingOf(p *Pacing) Pacing {
	if p == nil {
		return Pacing{}
	}
	return *p
}

// autoStart reports config.autoStart with its default.
func (c Config) autoStart() bool { return c.AutoStart == nil || *c.AutoStart }

// Session is the session object of API.md.
type Session struct {
	ID        string     `json:"id"`
	Name      string     `json:"name"`
	Engine    string     `json:"engine"`
	Status    Status     `json:"status"`
	Phone     *string    `json:"phone"`
	PushName  *string    `json:"pushName"`
	LastError *string    `json:"lastError"`
	Config    Config     `json:"config"`
	CreatedAt stamp.Time `json:"createdAt"`
	UpdatedAt stamp.Time `json:"updatedAt"`
}

func (m *Manager) view(row *store.Session) *Session {
	s := &Session{
		ID: row.ID, Name: row.Name, Engine: row.Engine, Status: Status(row.Status),
		Phone: strPtr(row.Phone), PushName: strPtr(row.PushName), LastError: strPtr(row.LastError),
		CreatedAt: store.Time(row.CreatedAt), UpdatedAt: store.Time(row.UpdatedAt),
	}
	store.DecodeJSON(m.log, "sessions", row.ID, row.Config, &s.Config)
	if s.Config.ProxyURL != nil {
		masked := MaskProxyURL(*s.Config.ProxyURL)
		s.Config.ProxyURL = &masked
	}
	return s
}

// credentialMask stands for a credential in answers.
const credentialMask = "***"

// MaskProxyURL hides the credentials of a proxy URL, as every answer shows it:
// http://user:***@host:port (and http://***@host when only a user name, often
// a token, is given). A URL without credentials is returned as it is.
func MaskProxyURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), credentialMask)
	} else {
		u.User = url.User(credentialMask)
	}
	return strings.Replace(u.String(), "%2A%2A%2A", credentialMask, 1)
}

func strPtr(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// QR is the current QR code of a session waiting to be paired.
type QR struct {
	Code      string     `json:"qr"`
	ExpiresAt stamp.Time `json:"expiresAt"`
}
