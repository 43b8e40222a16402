package webhook

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const secretPrefix = "whsec_"

// NewSecret returns a Standard Webhooks secret: whsec_ + base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return secretPrefix + base64.StdEncoding.EncodeToString(b)
}

// secretKey decodes the signing key of a whsec_ secret.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, secretPrefix))
	if err != nil || !strings.HasPrefix(secret, secretPrefix) || len(key) < 24 || len(key) > 64 {
		return nil, errors.New("want whsec_ followed by the base64 of 24 to 64 random bytes")
	}
	return key, nil
}

// Sign returns the webhook-signature header of the Standard Webhooks
// specification: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<body>")>.
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.", id, strconv.FormatInt(timestamp, 10))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// sealer encrypts secrets at rest with ENCRYPTION_KEY (AES-256-GCM, key =
// SHA-256 of ENCRYPTION_KEY). Without a key secrets are stored as they are.
type sealer struct{ aead cipher.AEAD }

const sealedPrefix = "enc:v1:"

func newSealer(encryptionKey string) (*sealer, error) {
	if encryptionKey == "" {
		return &sealer{}, nil
	}
	k := sha256.Sum256([]byte(encryptionKey))
	block, err := aes.NewCipher(k[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &sealer{aead: aead}, nil
}

func (s *sealer) seal(plain string) string {
	if s.aead == nil {
		return plain
	}
	nonce := make([]byte, s.aead.NonceSize())
	_, _ = rand.Read(nonce)
	return sealedPrefix + base64.StdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), nil))
}

func (s *sealer) open(stored string) (string, error) {
	if !strings.HasPrefix(stored, sealedPrefix) {
		return stored, nil // written without ENCRYPTION_KEY
	}
	if s.aead == nil {
		return "", errors.New("webhook secret is encrypted but ENCRYPTION_KEY is not set")
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(stored, sealedPrefix))
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", errors.New("webhook secret: stored value is damaged")
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], nil)
	if err != nil {
		return "", errors.New("webhook secret: ENCRYPTION_KEY does not open it (was the key changed?)")
	}
	return string(plain), nil
}
