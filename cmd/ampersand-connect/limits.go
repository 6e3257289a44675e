package main

import (
	"compress/gzip"
	"fmt"
	"io"

	"connectrpc.com/connect"
)

// limitedGzipReader is a gzip decompressor that fails with
// resource_exhausted as soon as it has inflated more than limit bytes. Given
// a plain gzip.Reader, connect-go stops keeping the message at its read
// limit but inflates the rest to report its size: a small gzip bomb then
// costs the CPU of inflating all of it. This one stops at the limit.
type limitedGzipReader struct {
	gzip.Reader
	limit int64
	read  int64
}

// newLimitedGzipReader returns a [connect.Decompressor] for gzip that
// inflates at most maxRequestBytes, the listeners' request limit.
func newLimitedGzipReader() connect.Decompressor {
	return &limitedGzipReader{limit: maxRequestBytes}
}

func (r *limitedGzipReader) Reset(src io.Reader) error {
	r.read = 0
	return r.Reader.Reset(src)
}

// Read inflates at most one byte past the limit, which is then an error.
func (r *limitedGzipReader) Read(p []byte) (int, error) {
	if room := r.limit - r.read + 1; int64(len(p)) > room {
		p = p[:room]
	}
	n, err := r.Reader.Read(p)
	r.read += int64(n)
	if r.read > r.limit {
		return n, connect.NewError(connect.CodeResourceExhausted,
			fmt.Errorf("message is larger than %d bytes once decompressed", r.limit))
	}
	return n, err
}
