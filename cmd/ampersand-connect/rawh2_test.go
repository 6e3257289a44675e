package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawConn is an HTTP/2 client connection driven frame by frame, for what
// no well-behaved client sends: streams reset at once, bad headers.
type rawConn struct {
	t    *testing.T
	conn net.Conn

	wmu    sync.Mutex
	fr     *http2.Framer
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	nextID uint32

	mu         sync.Mutex
	headers    map[uint32][]hpack.HeaderField // each stream's headers and trailers, as received
	ended      map[uint32]bool                // streams the server ended or reset
	goAway     *http2.GoAwayFrame
	maxStreams uint32        // the server's SETTINGS_MAX_CONCURRENT_STREAMS, once received
	closed     chan struct{} // closed when the connection's reading ends
	readErr    error
}

// dialRaw opens a cleartext HTTP/2 connection (prior knowledge) to addr.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &rawConn{
		t: t, conn: conn, nextID: 1,
		headers: map[uint32][]hpack.HeaderField{}, ended: map[uint32]bool{},
		closed: make(chan struct{}),
	}
	c.enc = hpack.NewEncoder(&c.encBuf)
	c.fr = http2.NewFramer(conn, conn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	// A write fails when the server closed the connection already (one
	// over its bound, say): the reading finds out.
	if _, err := io.WriteString(conn, http2.ClientPreface); err == nil {
		_ = c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	}
	go c.read()
	return c
}

func (c *rawConn) read() {
	defer close(c.closed)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			c.mu.Lock()
			c.readErr = err
			c.mu.Unlock()
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
					c.mu.Lock()
					c.maxStreams = v
					c.mu.Unlock()
				}
				c.write(func() error { return c.fr.WriteSettingsAck() })
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				c.write(func() error { return c.fr.WritePing(true, f.Data) })
			}
		case *http2.MetaHeadersFrame:
			c.mu.Lock()
			c.headers[f.StreamID] = append(c.headers[f.StreamID], f.Fields...)
			if f.StreamEnded() {
				c.ended[f.StreamID] = true
			}
			c.mu.Unlock()
		case *http2.DataFrame:
			if len(f.Data()) > 0 { // give the window back
				c.write(func() error { return c.fr.WriteWindowUpdate(0, uint32(len(f.Data()))) })
			}
			if f.StreamEnded() {
				c.mu.Lock()
				c.ended[f.StreamID] = true
				c.mu.Unlock()
			}
		case *http2.RSTStreamFrame:
			c.mu.Lock()
			c.ended[f.StreamID] = true
			c.mu.Unlock()
		case *http2.GoAwayFrame:
			c.mu.Lock()
			c.goAway = f
			c.mu.Unlock()
		}
	}
}

// write writes frames under the connection's write lock; an error (the
// server closed the connection) is returned by the next call that checks.
func (c *rawConn) write(f func() error) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return f()
}

// request opens a stream with a gRPC request's headers for path, the
// fields of extra added, and returns its ID. The stream stays open.
func (c *rawConn) request(path string, extra ...hpack.HeaderField) (uint32, error) {
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "localhost"}, {Name: ":path", Value: path},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}
	fields = append(fields, extra...)
	var id uint32
	err := c.write(func() error {
		c.encBuf.Reset()
		for _, f := range fields {
			if err := c.enc.WriteField(f); err != nil {
				return err
			}
		}
		id = c.nextID
		c.nextID += 2
		return c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.encBuf.Bytes(), EndHeaders: true})
	})
	return id, err
}

// requestSplit is request with its header block padded, with a priority,
// and cut into a HEADERS and CONTINUATION frames of at most size bytes.
func (c *rawConn) requestSplit(path string, size int, extra ...hpack.HeaderField) (uint32, error) {
	fields := []hpack.HeaderField{
		{Name: ":method", Value: "POST"}, {Name: ":scheme", Value: "http"},
		{Name: ":authority", Value: "localhost"}, {Name: ":path", Value: path},
		{Name: "content-type", Value: "application/grpc"}, {Name: "te", Value: "trailers"},
	}
	fields = append(fields, extra...)
	var id uint32
	err := c.write(func() error {
		c.encBuf.Reset()
		for _, f := range fields {
			if err := c.enc.WriteField(f); err != nil {
				return err
			}
		}
		id = c.nextID
		c.nextID += 2
		block := c.encBuf.Bytes()
		first := block[:min(size, len(block))]
		block = block[len(first):]
		if err := c.fr.WriteHeaders(http2.HeadersFrameParam{
			StreamID: id, BlockFragment: first, EndHeaders: len(block) == 0, PadLength: 7,
			Priority: http2.PriorityParam{StreamDep: 0, Weight: 15},
		}); err != nil {
			return err
		}
		for len(block) > 0 {
			n := min(size, len(block))
			if err := c.fr.WriteContinuation(id, n == len(block), block[:n]); err != nil {
				return err
			}
			block = block[n:]
		}
		return nil
	})
	return id, err
}

// message sends one gRPC message of msg on stream id, ending the stream.
func (c *rawConn) message(id uint32, msg []byte) error {
	frame := make([]byte, 5, 5+len(msg))
	binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
	return c.write(func() error { return c.fr.WriteData(id, true, append(frame, msg...)) })
}

// partial sends the start of a gRPC message of size bytes, and leaves the
// stream open: the server waits for the rest.
func (c *rawConn) partial(id uint32, size uint32) error {
	frame := make([]byte, 7)
	binary.BigEndian.PutUint32(frame[1:], size)
	return c.write(func() error { return c.fr.WriteData(id, false, frame) })
}

func (c *rawConn) reset(id uint32) error {
	return c.write(func() error { return c.fr.WriteRSTStream(id, http2.ErrCodeCancel) })
}

// field returns the last value of a header or trailer of stream id.
func (c *rawConn) field(id uint32, name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	value := ""
	for _, f := range c.headers[id] {
		if f.Name == name {
			value = f.Value
		}
	}
	return value
}

// waitEnded waits until the server has ended stream id, and fails after d.
func (c *rawConn) waitEnded(id uint32, d time.Duration) {
	c.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		ended := c.ended[id]
		c.mu.Unlock()
		if ended {
			return
		}
		select {
		case <-c.closed:
			c.t.Fatalf("the connection closed before stream %d ended: %v", id, c.err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	c.t.Fatalf("stream %d did not end", id)
}

// waitClosed waits until the server closes the connection, and reports
// whether it did within d.
func (c *rawConn) waitClosed(d time.Duration) bool {
	select {
	case <-c.closed:
		return true
	case <-time.After(d):
		return false
	}
}

func (c *rawConn) err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.readErr
}

// goneAway reports the GOAWAY frame's error code, if the server sent one.
func (c *rawConn) goneAway() (http2.ErrCode, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.goAway == nil {
		return 0, false
	}
	return c.goAway.ErrCode, true
}

// isClosedErr reports whether err says the connection is gone.
func isClosedErr(err error) bool {
	return err != nil && (errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || strings.Contains(err.Error(), "reset by peer") || strings.Contains(err.Error(), "broken pipe"))
}

// serverMaxStreams waits for the server's settings and returns its bound
// of concurrent streams; 0 if the connection closed first.
func (c *rawConn) serverMaxStreams() uint32 {
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		c.mu.Lock()
		v := c.maxStreams
		c.mu.Unlock()
		if v != 0 {
			return v
		}
		select {
		case <-c.closed:
			return 0
		case <-time.After(5 * time.Millisecond):
		}
	}
	return 0
}
