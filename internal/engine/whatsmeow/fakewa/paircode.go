package fakewa

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"

	waBinary "go.mau.fi/whatsmeow/binary"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/hkdfutil"
	"go.mau.fi/whatsmeow/util/keys"
	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/pbkdf2"
)

// Pairing by phone number: the client registers (companion_hello) and shows
// an 8-character code; the user types it on the phone, which answers with its
// own ephemeral key wrapped with the code (primary_hello); the client sends
// its key bundle (companion_finish); the phone links the device with an adv
// secret both sides derived.

const linkRef = "fake-link-ref"

// codePairing is one pairing by code in progress on a connection.
type codePairing struct {
	phone          string
	wrappedCompEph []byte        // the client's ephemeral key, wrapped with the code
	primaryEph     *keys.KeyPair // the phone's, once the code was typed
	account        *keys.KeyPair // the phone's identity (and account) key
	compEphPub     []byte
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// codeKey is the key the 8-character code and a salt make.
func codeKey(code string, salt []byte) cipher.Block {
	b, _ := aes.NewCipher(pbkdf2.Key([]byte(code), salt, 2<<16, 32, sha256.New))
	return b
}

// linkCode answers the client's registration and completes the pairing when
// it sends its key bundle.
func (s *Server) linkCode(c *Conn, n *waBinary.Node) ([]waBinary.Node, *waBinary.Node) {
	reg := n.GetChildByTag("link_code_companion_reg")
	jid, _ := reg.Attrs["jid"].(types.JID)
	switch reg.Attrs["stage"] {
	case "companion_hello":
		wrapped, _ := reg.GetChildByTag("link_code_pairing_wrapped_companion_ephemeral_pub").Content.([]byte)
		c.mu.Lock()
		c.pairing = &codePairing{phone: jid.User, wrappedCompEph: wrapped}
		c.mu.Unlock()
		return []waBinary.Node{{Tag: "link_code_companion_reg", Content: []waBinary.Node{
			{Tag: "link_code_pairing_ref", Content: []byte(linkRef)}}}}, nil
	case "companion_finish":
		c.mu.Lock()
		p := c.pairing
		c.mu.Unlock()
		bundle, _ := reg.GetChildByTag("link_code_pairing_wrapped_key_bundle").Content.([]byte)
		if p == nil || p.primaryEph == nil || len(bundle) < 44 {
			e := iqError(400, "bad-request")
			return nil, &e
		}
		shared, _ := curve25519.X25519(p.primaryEph.Priv[:], p.compEphPub)
		gcm, _ := cipher.NewGCM(mustAES(hkdfutil.SHA256(shared, bundle[:32], []byte("link_code_pairing_key_bundle_encryption_key"), 32)))
		plain, err := gcm.Open(nil, bundle[32:44], bundle[44:], nil)
		if err != nil || len(plain) != 96 {
			s.failed(fmt.Errorf("pairing code: the key bundle does not open: %v", err))
			e := iqError(400, "bad-request")
			return nil, &e
		}
		companionIdentity, advRandom := plain[:32], plain[64:]
		identityShared, _ := curve25519.X25519(p.account.Priv[:], companionIdentity)
		advSecret := hkdfutil.SHA256(append(append(append([]byte{}, shared...), identityShared...), advRandom...), nil, []byte("adv_secret"), 32)
		n, err := pairSuccess(p.account, companionIdentity, advSecret, p.phone)
		if err != nil {
			e := iqError(400, "bad-request")
			return nil, &e
		}
		c.notifyLater(n) // after the IQ's answer, as WhatsApp does
		return nil, nil
	}
	e := iqError(400, "bad-request")
	return nil, &e
}

func mustAES(key []byte) cipher.Block {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err)
	}
	return b
}

// EnterCode plays the user typing the pairing code the client showed on the
// phone of the number it registered.
func (s *Server) EnterCode(ctx context.Context, code string) error {
	c, err := s.last()
	if err != nil {
		return err
	}
	code = strings.ReplaceAll(code, "-", "")
	c.mu.Lock()
	p := c.pairing
	c.mu.Unlock()
	if p == nil || len(p.wrappedCompEph) != 80 {
		return errors.New("the client did not ask for a pairing code")
	}
	w := p.wrappedCompEph
	p.compEphPub = make([]byte, 32)
	cipher.NewCTR(codeKey(code, w[:32]), w[32:48]).XORKeyStream(p.compEphPub, w[48:80])
	p.primaryEph, p.account = keys.NewKeyPair(), keys.NewKeyPair()
	salt, iv := randomBytes(32), randomBytes(16)
	wrapped := make([]byte, 80)
	copy(wrapped, salt)
	copy(wrapped[32:], iv)
	cipher.NewCTR(codeKey(code, salt), iv).XORKeyStream(wrapped[48:], p.primaryEph.Pub[:])
	return c.Send(ctx, waBinary.Node{Tag: "notification", Attrs: waBinary.Attrs{"type": "link_code_companion_reg",
		"id": "code-1", "from": types.ServerJID, "t": time.Now().Unix()},
		Content: []waBinary.Node{{Tag: "link_code_companion_reg", Attrs: waBinary.Attrs{"stage": "primary_hello"},
			Content: []waBinary.Node{
				{Tag: "link_code_pairing_ref", Content: []byte(linkRef)},
				{Tag: "link_code_pairing_wrapped_primary_ephemeral_pub", Content: wrapped},
				{Tag: "primary_identity_pub", Content: p.account.Pub[:]},
			}}}})
}
