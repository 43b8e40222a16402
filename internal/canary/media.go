package canary

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
)

// The media the canary sends is made here, small and of the types OpenWA's
// sniffing accepts for each route. Only the image is a full picture; the
// others carry their format's signature and a short body, enough for
// WhatsApp to carry and for a byte-for-byte comparison on the other side.

func pngImage() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range 8 {
		img.Set(i, i, color.RGBA{R: 37, G: 211, B: 102, A: 255})
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// mp4Video is an ISO media file: an ftyp box (brand mp42) and an empty mdat.
func mp4Video() []byte {
	var b bytes.Buffer
	b.Write([]byte{0, 0, 0, 0x18})
	b.WriteString("ftypmp42")
	b.Write([]byte{0, 0, 0, 0})
	b.WriteString("isommp42")
	b.Write([]byte{0, 0, 0, 0x10})
	b.WriteString("mdat")
	b.Write(make([]byte, 8))
	return b.Bytes()
}

// mp3Audio is an ID3v2 header followed by one silent MPEG-1 Layer III frame.
func mp3Audio() []byte {
	b := []byte("ID3\x03\x00\x00\x00\x00\x00\x00")
	frame := make([]byte, 417) // 128 kbit/s, 44.1 kHz
	copy(frame, []byte{0xff, 0xfb, 0x90, 0x64})
	return append(b, frame...)
}

// oggVoice is an Ogg page carrying an OpusHead packet.
func oggVoice() []byte {
	head := []byte("OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00")
	var b bytes.Buffer
	b.WriteString("OggS")
	b.Write([]byte{0, 2}) // version, beginning of stream
	b.Write(make([]byte, 8))
	_ = binary.Write(&b, binary.LittleEndian, uint32(0x0a11ce))
	b.Write(make([]byte, 8)) // sequence, checksum
	b.Write([]byte{1, byte(len(head))})
	b.Write(head)
	return b.Bytes()
}

func pdfDocument() []byte {
	return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n" +
		"trailer<</Root 1 0 R>>\n%%EOF\n")
}

// webpSticker is a RIFF WEBP container with a lossless 1×1 image.
func webpSticker() []byte {
	vp8l := []byte{0x2f, 0x00, 0x00, 0x00, 0x00, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0x00}
	var b bytes.Buffer
	b.WriteString("RIFF")
	_ = binary.Write(&b, binary.LittleEndian, uint32(4+8+len(vp8l)))
	b.WriteString("WEBPVP8L")
	_ = binary.Write(&b, binary.LittleEndian, uint32(len(vp8l)))
	b.Write(vp8l)
	return b.Bytes()
}
