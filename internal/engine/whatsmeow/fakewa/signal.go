package fakewa

import (
	"encoding/binary"

	waBinary "go.mau.fi/whatsmeow/binary"
)

// keysOf is what a client uploads so that others can start Signal sessions with it.
type keysOf struct {
	registration uint32
	identity     [32]byte
	signedID     uint32
	signed       [32]byte
	signature    [64]byte
	preKeys      map[uint32][32]byte
}

func be(b []byte) uint32 {
	var buf [4]byte
	copy(buf[4-len(b):], b)
	return binary.BigEndian.Uint32(buf[:])
}

// parseKeys reads the prekey upload IQ (xmlns encrypt, registration, identity, skey, list).
func parseKeys(n *waBinary.Node) (*keysOf, bool) {
	reg, ok := n.GetOptionalChildByTag("registration")
	if !ok {
		return nil, false
	}
	k := &keysOf{preKeys: map[uint32][32]byte{}}
	b, _ := reg.Content.([]byte)
	k.registration = be(b)
	idn := n.GetChildByTag("identity")
	idb, _ := idn.Content.([]byte)
	copy(k.identity[:], idb)
	sk := n.GetChildByTag("skey")
	skid, _ := sk.GetChildByTag("id").Content.([]byte)
	skv, _ := sk.GetChildByTag("value").Content.([]byte)
	sks, _ := sk.GetChildByTag("signature").Content.([]byte)
	k.signedID = be(skid)
	copy(k.signed[:], skv)
	copy(k.signature[:], sks)
	list := n.GetChildByTag("list")
	for _, key := range list.GetChildren() {
		id, _ := key.GetChildByTag("id").Content.([]byte)
		v, _ := key.GetChildByTag("value").Content.([]byte)
		var pub [32]byte
		copy(pub[:], v)
		k.preKeys[be(id)] = pub
	}
	return k, true
}
