package wal

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/tracehound/tracehound/storage"
)

// A record on disk is an 8-byte header — the payload length and the CRC-32C
// (Castagnoli) of the payload, both little-endian uint32 — followed by the
// payload (see codec.go). Records are appended back to back to segment
// files; a record never spans two segments.
const (
	headerSize = 8
	// maxRecordBytes bounds a payload; a larger length in a header is
	// corruption (the receivers never accept a request that large).
	maxRecordBytes = 1 << 30
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendRecord appends the record of batch (header and payload) to dst.
func appendRecord(dst []byte, batch *storage.SpanBatch) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, 0, 0, 0, 0, 0)
	dst = batch.MarshalAppend(dst)
	return sealRecord(dst, start)
}

// sealRecord fills in the header of the record that starts at dst[start:]
// and runs to the end of dst.
func sealRecord(dst []byte, start int) []byte {
	payload := dst[start+headerSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// parseHeader returns the payload length and checksum of a record header.
func parseHeader(h []byte) (n int64, crc uint32) {
	return int64(binary.LittleEndian.Uint32(h)), binary.LittleEndian.Uint32(h[4:])
}

// errTorn reports a record cut short by the end of the file: the tail of a
// write interrupted by a crash.
var errTorn = errors.New("record cut short by the end of the segment")

// checkPayload verifies a payload against its checksum and reads its span
// count.
func checkPayload(p []byte, crc uint32) (spans int, err error) {
	if crc32.Checksum(p, castagnoli) != crc {
		return 0, fmt.Errorf("%w: checksum mismatch", errCorrupt)
	}
	return batchSpanCount(p)
}

// scanSegment reads the records of a segment of fileSize bytes from its
// start and calls fn
// with the offset, size and span count of each valid one. It returns the
// end of the last valid record, and why it stopped before the end of r:
// errTorn for a record cut short, an error wrapping errCorrupt for a bad
// header or checksum, or the read error. A nil error means r ended exactly
// after a record.
func scanSegment(r io.Reader, fileSize int64, fn func(off, size int64, spans int)) (validEnd int64, err error) {
	br := bufio.NewReaderSize(r, int(min(max(fileSize, 16), 1<<20)))
	var (
		hdr     [headerSize]byte
		payload []byte
		off     int64
	)
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			switch {
			case errors.Is(err, io.EOF):
				return off, nil
			case errors.Is(err, io.ErrUnexpectedEOF):
				return off, errTorn
			default:
				return off, err
			}
		}
		n, crc := parseHeader(hdr[:])
		if n == 0 || n > maxRecordBytes {
			return off, fmt.Errorf("%w: record length %d at offset %d", errCorrupt, n, off)
		}
		if off+headerSize+n > fileSize {
			return off, errTorn // checked before allocating: the length may be garbage
		}
		if int64(cap(payload)) < n {
			payload = make([]byte, n)
		}
		payload = payload[:n]
		if _, err := io.ReadFull(br, payload); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return off, errTorn
			}
			return off, err
		}
		spans, err := checkPayload(payload, crc)
		if err != nil {
			return off, fmt.Errorf("record at offset %d: %w", off, err)
		}
		fn(off, headerSize+n, spans)
		off += headerSize + n
	}
}

// bufPool holds record encoding buffers.
var bufPool sync.Pool // *[]byte

// maxPooledBuf is the largest buffer put back into bufPool.
const maxPooledBuf = 4 << 20

func getBuf(size int) *[]byte {
	if p, ok := bufPool.Get().(*[]byte); ok && cap(*p) >= size {
		*p = (*p)[:0]
		return p
	}
	b := make([]byte, 0, size)
	return &b
}

func putBuf(p *[]byte) {
	if cap(*p) > maxPooledBuf {
		return // let the GC take outliers
	}
	bufPool.Put(p)
}
