// Package fakewa is a fake WhatsApp server for tests: it speaks the real
// protocol (websocket frames with the WA header, the Noise XX handshake as
// responder, binary XML nodes) to the real, unmodified whatsmeow client on
// loopback. Production code never imports it; a test that uses it points
// whatsmeow.WACertPubKey at Root, which only a test may do.
//
// This first part takes a client through the handshake and, for an unpaired
// device, offers pairing refs, from which whatsmeow makes the QR codes.
package fakewa

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
	"go.mau.fi/libsignal/ecc"
	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/proto/waCert"
	"go.mau.fi/whatsmeow/proto/waWa6"
	"go.mau.fi/whatsmeow/socket"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/gcmutil"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/hkdf"
	"google.golang.org/protobuf/proto"
)

// Server is a fake WhatsApp on a loopback port.
type Server struct {
	Root keys.KeyPair // signs the intermediate certificate: Root(), the same for every server of the process

	srv          *httptest.Server
	static       *keys.KeyPair
	intermediate *keys.KeyPair

	mu      sync.Mutex
	conns   []*Conn
	refs    []string
	refuse  int  // > 0: logins are refused with this reason (402: a temporary ban of length ban)
	noPings bool // keepalive pings go unanswered
	ban     time.Duration
	keys    map[uint64]*keysOf // the prekeys each account's device uploaded

	contacts map[string]*Contact // by phone number and by LID
	groups   map[string]*group   // by the user part of the group JID
	groupSeq int
	blocked  map[string]bool   // LID users the linked account blocked
	media    map[string][]byte // uploaded (encrypted) media by path
	errs     []error
	seen     []*waBinary.Node            // receipts, chat states, presences and acks clients sent
	unlinked []string                    // devices that logged themselves out
	pending  map[uint64][]pendingMessage // per account: messages its device has not acknowledged
	sent     map[string]sentMessage      // what contacts sent, by id, for retry receipts

	// phones are each account's own phone (device 0), by phone number.
	phones map[uint64]*Contact
	// mediaGate, when set, holds media downloads until it is closed; each
	// download that waits is reported on mediaWaiting (HoldMedia).
	mediaGate    chan struct{}
	mediaWaiting chan string
	sends        map[string]int // message ids the linked device sent, with the number of attempts
	ackErr       int            // the error code of the next ackErrN message acks
	ackErrN      int
	web          uint32                // WhatsApp Web's current revision; older clients are refused (405). 0: any.
	unlinkErr    bool                  // unlink requests fail
	appStates    map[uint64]*appState  // the accounts' app state collections, by phone number
	devices      map[string][]*Contact // contacts' devices other than 0, by phone number and by LID
}

// FailUnlinks makes WhatsApp answer the devices' unlink (logout) requests
// with an error, as when its side is down.
func (s *Server) FailUnlinks(fail bool) {
	s.mu.Lock()
	s.unlinkErr = fail
	s.mu.Unlock()
}

// SetWebVersion makes revision the current WhatsApp Web version: served on
// web.whatsapp.com's page as WhatsApp does, and logins of clients that
// present an older one are refused with 405 (client outdated).
func (s *Server) SetWebVersion(revision uint32) {
	s.mu.Lock()
	s.web = revision
	s.mu.Unlock()
}

// serveWebPage answers GET / of web.whatsapp.com: a page carrying the current revision.
func (s *Server) serveWebPage(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodGet || r.URL.Path != "/" || r.Header.Get("Upgrade") != "" {
		return false
	}
	s.mu.Lock()
	rev := s.web
	s.mu.Unlock()
	if rev == 0 {
		http.NotFound(w, r)
		return true
	}
	fmt.Fprintf(w, `<html><script>self.__x={"server_revision":%d,"client_revision":%d,"other":1};</script></html>`, rev, rev)
	return true
}

// Drop cuts every connection, as a network failure would.
func (s *Server) Drop() {
	for _, c := range s.Conns() {
		c.ws.CloseNow()
	}
}

// RemoveDevice unlinks the device from the "phone": WhatsApp tells the client
// with a device_removed stream error.
func (s *Server) RemoveDevice(ctx context.Context) error {
	conns := s.Conns()
	if len(conns) == 0 {
		return fmt.Errorf("no client connected")
	}
	return conns[len(conns)-1].Send(ctx, waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "401"},
		Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "device_removed"}}}})
}

// BanLogins makes the following logins fail with a 402 temporary ban of
// length d; 0 lets them in again.
func (s *Server) BanLogins(d time.Duration) {
	s.mu.Lock()
	s.refuse, s.ban = 0, d
	if d > 0 {
		s.refuse = 402
	}
	s.mu.Unlock()
}

// IgnorePings makes the server stop (true) or resume (false) answering
// keepalive pings, as a stalled connection would.
func (s *Server) IgnorePings(ignore bool) {
	s.mu.Lock()
	s.noPings = ignore
	s.mu.Unlock()
}

func (s *Server) deaf() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.noPings
}

// RefuseLogins makes the following logins fail with a connect failure of
// this reason (405: client outdated; 401: logged out; others: refused); 0
// lets them in again.
func (s *Server) RefuseLogins(reason int) {
	s.mu.Lock()
	s.refuse, s.ban = reason, 0
	s.mu.Unlock()
}

// ReplaceStream tells the newest client that another client took over its
// stream (the same device's keys connected elsewhere).
func (s *Server) ReplaceStream(ctx context.Context) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	return c.Send(ctx, waBinary.Node{Tag: "stream:error",
		Content: []waBinary.Node{{Tag: "conflict", Attrs: waBinary.Attrs{"type": "replaced"}}}})
}

// root is the process's fake WhatsApp root key: tests trust it once
// (whatsmeow.WACertPubKey is process-global), and then run fake servers in parallel.
var root = sync.OnceValue(keys.NewKeyPair)

// Root is the public key that signs every fake server's certificate chain in this process.
func Root() [32]byte { return *root().Pub }

// SetRefs sets the pairing refs offered to the next unpaired clients: one QR
// code each, shown for 20 s (the first for 60 s when there are six, as
// WhatsApp sends).
func (s *Server) SetRefs(refs ...string) {
	s.mu.Lock()
	s.refs = refs
	s.mu.Unlock()
}

// New starts a server; Close stops it.
func New() *Server {
	s := &Server{Root: *root(), static: keys.NewKeyPair(), intermediate: keys.NewKeyPair(),
		refs: []string{"2@fakeref1", "2@fakeref2", "2@fakeref3"}, keys: map[uint64]*keysOf{},
		contacts: map[string]*Contact{}, groups: map[string]*group{}, blocked: map[string]bool{}, media: map[string][]byte{},
		pending: map[uint64][]pendingMessage{}, sent: map[string]sentMessage{}, sends: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close stops the server and every connection.
func (s *Server) Close() { s.srv.CloseClientConnections(); s.srv.Close() }

// Addr is the server's loopback address.
func (s *Server) Addr() string { return s.srv.Listener.Addr().String() }

// Transport carries a client's connections to this server, whatever host
// they name: whatsmeow's websocket URL is a constant.
func (s *Server) Transport() http.RoundTripper { return TransportTo(s.Addr()) }

// TransportTo carries connections to a fake server at addr (one in another process).
func TransportTo(addr string) http.RoundTripper {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	}
	// The client asks for wss://: the "TLS" dial returns the plain loopback
	// connection, and HTTP/1.1 goes over it.
	return &http.Transport{DialContext: dial, DialTLSContext: dial, ForceAttemptHTTP2: false}
}

// Seen returns the nodes of a tag ("receipt", "chatstate", "presence" or "ack") clients sent, oldest first.
func (s *Server) Seen(tag string) []*waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*waBinary.Node
	for _, n := range s.seen {
		if n.Tag == tag {
			out = append(out, n)
		}
	}
	return out
}

// Unlinked lists the devices that asked WhatsApp to unlink them (logout).
func (s *Server) Unlinked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.unlinked...)
}

// Conns are the connections that completed the handshake.
func (s *Server) Conns() []*Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Conn(nil), s.conns...)
}

// Conn is one client connection after the handshake.
type Conn struct {
	ws      *websocket.Conn
	Payload *waWa6.ClientPayload // what the client said it is

	mu          sync.Mutex
	write, read cipher.AEAD
	wn, rn      uint32
	pairing     *codePairing    // a pairing by code in progress
	later       []waBinary.Node // sent after the answer to the IQ being handled
	closed      bool            // the connection ended
}

func (c *Conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// notifyLater sends n once the IQ being answered has its answer.
func (c *Conn) notifyLater(n waBinary.Node) {
	c.mu.Lock()
	c.later = append(c.later, n)
	c.mu.Unlock()
}

// Send encrypts and sends a node.
func (c *Conn) Send(ctx context.Context, n waBinary.Node) error {
	data, err := waBinary.Marshal(n)
	if err != nil {
		return err
	}
	c.mu.Lock()
	ct := c.write.Seal(nil, iv(c.wn), data, nil)
	c.wn++
	c.mu.Unlock()
	return c.ws.Write(ctx, websocket.MessageBinary, frame(nil, ct))
}

func iv(n uint32) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint32(b[8:], n)
	return b
}

// frame prefixes data with its 3-byte length (and, first, the header).
func frame(header, data []byte) []byte {
	out := append([]byte{}, header...)
	out = append(out, byte(len(data)>>16), byte(len(data)>>8), byte(len(data)))
	return append(out, data...)
}

// frames splits a websocket message into frames; the first of a connection
// starts with the 4-byte WA header.
func frames(msg []byte, header bool) ([][]byte, error) {
	if header {
		if len(msg) < len(socket.WAConnHeader) || string(msg[:2]) != "WA" {
			return nil, fmt.Errorf("no WA header")
		}
		msg = msg[len(socket.WAConnHeader):]
	}
	var out [][]byte
	for len(msg) >= 3 {
		n := int(msg[0])<<16 | int(msg[1])<<8 | int(msg[2])
		if len(msg) < 3+n {
			return nil, fmt.Errorf("short frame")
		}
		out = append(out, msg[3:3+n])
		msg = msg[3+n:]
	}
	return out, nil
}

// noise is the responder's side of the Noise XX handshake (mirroring socket/noisehandshake.go).
type noise struct {
	hash, salt []byte
	key        cipher.AEAD
	counter    uint32
}

func (n *noise) start(header []byte) {
	n.hash = []byte(socket.NoiseStartPattern)
	n.salt = n.hash
	n.key, _ = gcmutil.Prepare(n.hash)
	n.auth(header)
}

func (n *noise) auth(data []byte) { h := sha256.Sum256(append(n.hash, data...)); n.hash = h[:] }

func (n *noise) encrypt(p []byte) []byte {
	c := n.key.Seal(nil, iv(n.counter), p, n.hash)
	n.counter++
	n.auth(c)
	return c
}

func (n *noise) decrypt(c []byte) ([]byte, error) {
	p, err := n.key.Open(nil, iv(n.counter), c, n.hash)
	n.counter++
	if err == nil {
		n.auth(c)
	}
	return p, err
}

func (n *noise) mix(priv, pub [32]byte) error {
	secret, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return err
	}
	n.counter = 0
	w, r := expand(n.salt, secret)
	n.salt = w
	n.key, err = gcmutil.Prepare(r)
	return err
}

func expand(salt, data []byte) (a, b []byte) {
	h := hkdf.New(sha256.New, data, salt, nil)
	a, b = make([]byte, 32), make([]byte, 32)
	io.ReadFull(h, a)
	io.ReadFull(h, b)
	return a, b
}

// cert is the chain whatsmeow checks: Root signs the intermediate, which signs the leaf (the static key).
func (s *Server) cert() []byte {
	now := time.Now()
	details := func(serial, issuer uint32, key []byte) []byte {
		b, _ := proto.Marshal(&waCert.CertChain_NoiseCertificate_Details{Serial: proto.Uint32(serial),
			IssuerSerial: proto.Uint32(issuer), Key: key, NotBefore: proto.Uint64(uint64(now.Add(-time.Hour).Unix())),
			NotAfter: proto.Uint64(uint64(now.Add(time.Hour).Unix()))})
		return b
	}
	sign := func(kp *keys.KeyPair, msg []byte) []byte {
		sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*kp.Priv), msg)
		return sig[:]
	}
	inter := details(1, 0, s.intermediate.Pub[:])
	leaf := details(2, 1, s.static.Pub[:])
	b, _ := proto.Marshal(&waCert.CertChain{
		Intermediate: &waCert.CertChain_NoiseCertificate{Details: inter, Signature: sign(&s.Root, inter)},
		Leaf:         &waCert.CertChain_NoiseCertificate{Details: leaf, Signature: sign(s.intermediate, leaf)},
	})
	return b
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if s.serveMedia(w, r) || s.serveWebPage(w, r) {
		return
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	defer ws.CloseNow()
	ws.SetReadLimit(socket.FrameMaxSize)
	ctx := r.Context()
	c, err := s.handshake(ctx, ws)
	if err != nil {
		ws.Close(websocket.StatusProtocolError, err.Error())
		return
	}
	s.mu.Lock()
	s.conns = append(s.conns, c)
	s.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
	}()
	if c.Payload.GetUsername() == 0 { // a device that is not paired yet: offer pairing
		_ = c.Send(ctx, waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": "pair-1"},
			Content: []waBinary.Node{{Tag: "pair-device", Content: s.refNodes()}}})
	} else if s.outdated(c.Payload) {
		_ = c.Send(ctx, waBinary.Node{Tag: "failure", Attrs: waBinary.Attrs{"reason": 405}})
	} else if reason, ban := s.refused(); reason > 0 { // a linked device that WhatsApp refuses
		f := waBinary.Attrs{"reason": reason}
		if reason == 402 {
			f["code"], f["expire"] = 101, int(ban.Seconds())
		}
		_ = c.Send(ctx, waBinary.Node{Tag: "failure", Attrs: f})
	} else { // a linked device logging in
		_ = c.Send(ctx, waBinary.Node{Tag: "success", Attrs: waBinary.Attrs{"t": time.Now().Unix(),
			"lid": types.NewJID(lidOf(c.Payload.GetUsername()), types.HiddenUserServer)}})
		s.redeliver(ctx, c)
	}
	for {
		_, msg, err := ws.Read(ctx)
		if err != nil {
			return
		}
		fs, err := frames(msg, false)
		if err != nil {
			return
		}
		for _, f := range fs {
			c.mu.Lock()
			plain, err := c.read.Open(nil, iv(c.rn), f, nil)
			c.rn++
			c.mu.Unlock()
			if err != nil {
				return
			}
			data, err := waBinary.Unpack(plain)
			if err != nil {
				return
			}
			n, err := waBinary.Unmarshal(data)
			if err != nil {
				continue
			}
			if n.Tag == "receipt" || n.Tag == "chatstate" || n.Tag == "presence" || n.Tag == "ack" {
				s.mu.Lock()
				s.seen = append(s.seen, n)
				s.mu.Unlock()
			}
			s.acknowledged(c, n)
			if n.Tag == "receipt" && n.Attrs["type"] == "retry" {
				s.resend(ctx, c, n)
			}
			if s.answer(ctx, c, n) {
				return
			}
		}
	}
}

// answer plays the server's part for a node; it returns true when the
// connection is to end (after pairing, WhatsApp makes the client reconnect).
func (s *Server) answer(ctx context.Context, c *Conn, n *waBinary.Node) bool {
	if n.Tag == "message" {
		s.message(ctx, c, n)
		return false
	}
	if n.Tag == "receipt" {
		s.relayReceipt(ctx, c, n)
		return false
	}
	if n.Tag != "iq" {
		return false
	}
	id, _ := n.Attrs["id"].(string)
	switch n.Attrs["type"] {
	case "result":
		if _, ok := n.GetOptionalChildByTag("pair-device-sign"); ok {
			// Paired: the stream restarts (515); the client closes it and logs in.
			_ = c.Send(ctx, waBinary.Node{Tag: "stream:error", Attrs: waBinary.Attrs{"code": "515"}})
			return false
		}
	case "get", "set":
		if n.Attrs["xmlns"] == "w:p" && s.deaf() {
			return false // a keepalive ping nobody answers
		}
		reply := waBinary.Node{Tag: "iq", Attrs: waBinary.Attrs{"from": n.Attrs["to"], "type": "result", "id": id}}
		content, errNode := s.query(c, n)
		if errNode != nil {
			reply.Attrs["type"] = "error"
			content = []waBinary.Node{*errNode}
		}
		reply.Content = content
		_ = c.Send(ctx, reply)
		c.mu.Lock()
		later := c.later
		c.later = nil
		c.mu.Unlock()
		for _, n := range later {
			_ = c.Send(ctx, n)
		}
	}
	return false
}

// query answers an IQ: its content, or an error node. What the server does
// not model is answered with an empty result, as most of WhatsApp's set
// queries are.
func (s *Server) query(c *Conn, n *waBinary.Node) ([]waBinary.Node, *waBinary.Node) {
	switch n.Attrs["xmlns"] {
	case "md":
		if _, ok := n.GetOptionalChildByTag("link_code_companion_reg"); ok {
			return s.linkCode(c, n)
		}
		if rm, ok := n.GetOptionalChildByTag("remove-companion-device"); ok {
			jid, _ := rm.Attrs["jid"].(types.JID)
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.unlinkErr {
				e := iqError(500, "internal-server-error")
				return nil, &e
			}
			s.unlinked = append(s.unlinked, jid.String())
		}
	case "encrypt":
		if _, ok := n.GetOptionalChildByTag("count"); ok {
			return []waBinary.Node{{Tag: "count", Attrs: waBinary.Attrs{"value": 100}}}, nil
		}
		if k, ok := parseKeys(n); ok {
			s.mu.Lock()
			s.keys[c.Payload.GetUsername()] = k
			s.mu.Unlock()
		}
		if _, ok := n.GetOptionalChildByTag("key"); ok {
			return s.preKeys(n), nil
		}
	case "usync":
		return s.usync(c, n), nil
	case "w:g2":
		return s.groupIQ(c, n)
	case "w:profile:picture":
		return s.picture(n)
	case "blocklist":
		return s.blocklist(n), nil
	case "w:m":
		return s.mediaConn(), nil
	case "w:sync:app:state":
		return s.appStateIQ(c, n), nil
	}
	return nil, nil
}

// lidOf is the fake LID of a phone number.
func lidOf(phone uint64) string { return fmt.Sprintf("9%d", phone) }

// Pair plays the phone that scans qr: it sends pair-success for phone, with
// a device identity signed by a new account key, as WhatsApp does.
func (s *Server) Pair(ctx context.Context, qr, phone string) error {
	parts := strings.Split(qr[strings.Index(qr, "#")+1:], ",")
	if len(parts) < 4 {
		return fmt.Errorf("not a pairing QR code: %q", qr)
	}
	identityPub, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(identityPub) != 32 {
		return fmt.Errorf("QR identity key: %v", err)
	}
	advSecret, err := base64.StdEncoding.DecodeString(parts[3])
	if err != nil {
		return fmt.Errorf("QR adv secret: %v", err)
	}
	c, err := s.last()
	if err != nil {
		return err
	}
	n, err := pairSuccess(keys.NewKeyPair(), identityPub, advSecret, phone)
	if err != nil {
		return err
	}
	return c.Send(ctx, n)
}

// pairSuccess links the device: a device identity for its identity key,
// signed by the account key and authenticated with the pairing's adv secret.
func pairSuccess(account *keys.KeyPair, identityPub, advSecret []byte, phone string) (waBinary.Node, error) {
	user, err := strconv.ParseUint(phone, 10, 64)
	if err != nil {
		return waBinary.Node{}, err
	}
	details, _ := proto.Marshal(&waAdv.ADVDeviceIdentity{RawID: proto.Uint32(1), Timestamp: proto.Uint64(uint64(time.Now().Unix())),
		KeyIndex: proto.Uint32(1)})
	msg := append(append([]byte{6, 0}, details...), identityPub...)
	sig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*account.Priv), msg)
	signed, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentity{Details: details, AccountSignatureKey: account.Pub[:], AccountSignature: sig[:]})
	mac := hmac.New(sha256.New, advSecret)
	mac.Write(signed)
	container, _ := proto.Marshal(&waAdv.ADVSignedDeviceIdentityHMAC{Details: signed, HMAC: mac.Sum(nil)})
	return waBinary.Node{Tag: "iq",
		Attrs: waBinary.Attrs{"from": types.ServerJID, "type": "set", "id": "pair-2", "t": time.Now().Unix()},
		Content: []waBinary.Node{{Tag: "pair-success", Content: []waBinary.Node{
			{Tag: "device-identity", Content: container},
			{Tag: "platform", Attrs: waBinary.Attrs{"name": "android"}},
			{Tag: "device", Attrs: waBinary.Attrs{"jid": types.NewADJID(phone, 0, 5),
				"lid": types.JID{User: lidOf(user), Server: types.HiddenUserServer, Device: 5}}},
		}}}}, nil
}

// outdated tells whether a client presents a WhatsApp Web version older than the current one.
func (s *Server) outdated(p *waWa6.ClientPayload) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.web > 0 && p.GetUserAgent().GetAppVersion().GetTertiary() < s.web
}

func (s *Server) refused() (int, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refuse, s.ban
}

func (s *Server) refNodes() []waBinary.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]waBinary.Node, len(s.refs))
	for i, r := range s.refs {
		out[i] = waBinary.Node{Tag: "ref", Content: []byte(r)}
	}
	return out
}

// handshake runs the Noise XX handshake as responder and returns the encrypted connection.
func (s *Server) handshake(ctx context.Context, ws *websocket.Conn) (*Conn, error) {
	_, msg, err := ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	fs, err := frames(msg, true)
	if err != nil || len(fs) != 1 {
		return nil, fmt.Errorf("client hello: %v", err)
	}
	var hello waWa6.HandshakeMessage
	if err := proto.Unmarshal(fs[0], &hello); err != nil || len(hello.GetClientHello().GetEphemeral()) != 32 {
		return nil, fmt.Errorf("client hello: %v", err)
	}
	clientEph := [32]byte(hello.GetClientHello().GetEphemeral())
	n := &noise{}
	n.start(socket.WAConnHeader)
	n.auth(clientEph[:])
	eph := keys.NewKeyPair()
	n.auth(eph.Pub[:])
	if err := n.mix(*eph.Priv, clientEph); err != nil {
		return nil, err
	}
	static := n.encrypt(s.static.Pub[:])
	if err := n.mix(*s.static.Priv, clientEph); err != nil {
		return nil, err
	}
	payload := n.encrypt(s.cert())
	resp, _ := proto.Marshal(&waWa6.HandshakeMessage{ServerHello: &waWa6.HandshakeMessage_ServerHello{
		Ephemeral: eph.Pub[:], Static: static, Payload: payload}})
	if err := ws.Write(ctx, websocket.MessageBinary, frame(nil, resp)); err != nil {
		return nil, err
	}
	_, msg, err = ws.Read(ctx)
	if err != nil {
		return nil, err
	}
	if fs, err = frames(msg, false); err != nil || len(fs) != 1 {
		return nil, fmt.Errorf("client finish: %v", err)
	}
	var finish waWa6.HandshakeMessage
	if err := proto.Unmarshal(fs[0], &finish); err != nil {
		return nil, err
	}
	clientStatic, err := n.decrypt(finish.GetClientFinish().GetStatic())
	if err != nil || len(clientStatic) != 32 {
		return nil, fmt.Errorf("client static: %v", err)
	}
	if err := n.mix(*eph.Priv, [32]byte(clientStatic)); err != nil {
		return nil, err
	}
	rawPayload, err := n.decrypt(finish.GetClientFinish().GetPayload())
	if err != nil {
		return nil, fmt.Errorf("client payload: %v", err)
	}
	var cp waWa6.ClientPayload
	if err := proto.Unmarshal(rawPayload, &cp); err != nil {
		return nil, err
	}
	// The client writes with the first key and reads with the second.
	clientWrite, clientRead := expand(n.salt, nil)
	read, _ := gcmutil.Prepare(clientWrite)
	write, _ := gcmutil.Prepare(clientRead)
	return &Conn{ws: ws, Payload: &cp, write: write, read: read}, nil
}
