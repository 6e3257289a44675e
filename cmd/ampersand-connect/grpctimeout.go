package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"

	"connectrpc.com/connect"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	"github.com/ampersand-connect/gateway/internal/service"
)

// grpc-go answers a request whose grpc-timeout it cannot parse with
// internal, in its transport, before any interceptor or handler can run;
// the main listener (connect-go) answers invalid_argument. For the gRPC
// listener to answer as the main one does, each connection's request
// headers are read on their way to grpc-go: a grpc-timeout that grpc-go
// would refuse is renamed invalidTimeoutHeader, and an interceptor refuses
// the call with invalid_argument.
//
// Header blocks are HPACK-compressed with a table that the client and
// grpc-go keep in step, so the reader decodes every block with a table of
// its own that follows the client's. A block is passed on as it came,
// until one has a bad timeout: from then on, the connection's blocks are
// encoded afresh, the first of them clearing grpc-go's table, so that its
// table follows the reader's encoder. Other frames pass untouched.
const invalidTimeoutHeader = "ampersand-connect-invalid-grpc-timeout"

// The HTTP/2 settings grpc-go's server uses, which the reader mirrors: its
// decoder's table size (it advertises none, so the default) and the
// largest frame it accepts.
const (
	grpcHeaderTableSize = 4096
	grpcMaxFrameSize    = 16384
	// maxHeldBlock bounds a header block held until its last frame; one
	// larger is passed on unread (grpc-go refuses it, over its header
	// list limit).
	maxHeldBlock = 4 * maxHeaderBytes
)

// grpcTimeoutValid reports whether grpc-go can parse a grpc-timeout: its
// transport's decodeTimeout, rule for rule (up to 8 digits, then a unit).
func grpcTimeoutValid(v string) bool {
	if len(v) < 2 || len(v) > 9 {
		return false
	}
	switch v[len(v)-1] {
	case 'H', 'M', 'S', 'm', 'u', 'n':
	default:
		return false
	}
	_, err := strconv.ParseUint(v[:len(v)-1], 10, 64)
	return err == nil
}

// timeoutCheckingCreds wraps the gRPC listener's credentials (TLS, or
// none) so that each connection's headers are read as said above, after
// the handshake.
type timeoutCheckingCreds struct {
	credentials.TransportCredentials
}

func (c timeoutCheckingCreds) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(conn)
	if err != nil {
		return conn, info, err
	}
	return newTimeoutCheckingConn(conn), info, nil
}

func (c timeoutCheckingCreds) Clone() credentials.TransportCredentials {
	return timeoutCheckingCreds{c.TransportCredentials.Clone()}
}

// timeoutCheckingConn is a server connection whose reads go through the
// header reader.
type timeoutCheckingConn struct {
	net.Conn
	r *bufio.Reader

	out         []byte // read, ready for grpc-go
	header      [9]byte
	prefaceLeft int  // bytes of the client preface still to pass
	payloadLeft int  // bytes of a passed frame's payload still to pass
	blind       bool // the headers could not be followed: pass everything

	dec       *hpack.Decoder // follows the client's table
	fields    []hpack.HeaderField
	decoded   int            // bytes of the fields of the block being decoded
	tooLarge  bool           // the block's fields were over maxHeaderBytes
	enc       *hpack.Encoder // grpc-go's table follows it, once rewriting
	encBuf    bytes.Buffer
	rewriting bool

	held      []byte // the frames of a header block not yet ended
	block     []byte // its fragments
	streamID  uint32
	endStream bool
}

func newTimeoutCheckingConn(conn net.Conn) *timeoutCheckingConn {
	c := &timeoutCheckingConn{Conn: conn, r: bufio.NewReaderSize(conn, 32<<10), prefaceLeft: len(http2.ClientPreface)}
	c.dec = hpack.NewDecoder(grpcHeaderTableSize, func(f hpack.HeaderField) {
		c.decoded += len(f.Name) + len(f.Value) + 32
		if c.decoded > maxHeaderBytes {
			c.tooLarge = true
			return
		}
		c.fields = append(c.fields, f)
	})
	c.dec.SetMaxStringLength(maxHeaderBytes)
	return c
}

func (c *timeoutCheckingConn) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		switch {
		case c.blind:
			return c.r.Read(p)
		case c.prefaceLeft > 0:
			n, err := c.r.Read(p[:min(len(p), c.prefaceLeft)])
			c.prefaceLeft -= n
			return n, err
		case c.payloadLeft > 0:
			n, err := c.r.Read(p[:min(len(p), c.payloadLeft)])
			c.payloadLeft -= n
			return n, err
		}
		if err := c.nextFrame(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// nextFrame reads the next frame's header: a header block's frame is read
// whole, and passed on when the block ends; any other frame is passed.
func (c *timeoutCheckingConn) nextFrame() error {
	header := c.header[:]
	if _, err := io.ReadFull(c.r, header); err != nil {
		return err
	}
	length := int(header[0])<<16 | int(header[1])<<8 | int(header[2])
	typ, flags := http2.FrameType(header[3]), http2.Flags(header[4])
	streamID := binary.BigEndian.Uint32(header[5:]) & (1<<31 - 1)
	isBlock := typ == http2.FrameHeaders || typ == http2.FrameContinuation
	if !isBlock && len(c.held) == 0 { // any other frame, passed as it comes
		c.out, c.payloadLeft = header, length
		return nil
	}
	if !isBlock || length > grpcMaxFrameSize || len(c.held)+9+length > maxHeldBlock {
		// A frame inside a block, or a block too large to follow:
		// grpc-go refuses it, and the tables cannot be followed now.
		if c.rewriting {
			return errors.New("grpc-timeout check: a header block that cannot be followed")
		}
		c.blind = true
		c.out, c.payloadLeft = append(c.held, header...), length
		c.held, c.block = nil, nil
		return nil
	}
	// The frame is read into held, whose bytes are reused once passed
	// on: nextFrame runs when all that was passed has been read.
	start := len(c.held)
	c.held = append(c.held, header...)
	c.held = slices.Grow(c.held, length)[:start+9+length]
	if _, err := io.ReadFull(c.r, c.held[start+9:]); err != nil {
		return err
	}
	fragment := c.held[start+9:]
	if typ == http2.FrameHeaders {
		c.streamID, c.endStream = streamID, flags.Has(http2.FlagHeadersEndStream)
		if flags.Has(http2.FlagHeadersPadded) {
			if len(fragment) == 0 || int(fragment[0]) >= len(fragment) {
				return c.passBlind() // grpc-go's protocol error
			}
			fragment = fragment[1 : len(fragment)-int(fragment[0])]
		}
		if flags.Has(http2.FlagHeadersPriority) {
			if len(fragment) < 5 {
				return c.passBlind()
			}
			fragment = fragment[5:]
		}
	}
	c.block = append(c.block, fragment...)
	if !flags.Has(http2.FlagHeadersEndHeaders) {
		return nil
	}
	return c.endBlock()
}

// passBlind passes what is held, and stops following the headers (or,
// once rewriting, fails).
func (c *timeoutCheckingConn) passBlind() error {
	if c.rewriting {
		return errors.New("grpc-timeout check: a malformed header block")
	}
	c.blind = true
	c.out, c.held, c.block = c.held, nil, nil
	return nil
}

// endBlock decodes a whole header block, and passes it on as it came, or
// encoded afresh with a bad grpc-timeout renamed.
func (c *timeoutCheckingConn) endBlock() error {
	c.fields, c.decoded, c.tooLarge = c.fields[:0], 0, false
	_, err := c.dec.Write(c.block)
	if err == nil {
		err = c.dec.Close()
	}
	if err != nil || c.tooLarge {
		// grpc-go refuses it too; a table that did not decode cannot
		// be followed any more.
		return c.passBlind()
	}
	bad := false
	for i, f := range c.fields {
		if f.Name == "grpc-timeout" && !grpcTimeoutValid(f.Value) {
			c.fields[i].Name, bad = invalidTimeoutHeader, true
		}
	}
	if !bad && !c.rewriting {
		c.out, c.held, c.block = c.held, c.held[:0], c.block[:0]
		return nil
	}
	if !c.rewriting {
		c.rewriting = true
		c.enc = hpack.NewEncoder(&c.encBuf)
		// Clear grpc-go's table, which the client's blocks have filled.
		c.enc.SetMaxDynamicTableSize(0)
		c.enc.SetMaxDynamicTableSize(grpcHeaderTableSize)
	}
	c.encBuf.Reset()
	for _, f := range c.fields {
		if err := c.enc.WriteField(f); err != nil {
			return fmt.Errorf("grpc-timeout check: %w", err)
		}
	}
	c.out = appendBlock(c.held[:0], c.streamID, c.endStream, c.encBuf.Bytes())
	c.held, c.block = c.out[:0], c.block[:0]
	return nil
}

// appendBlock appends a header block as a HEADERS frame and as many
// CONTINUATION frames as it needs.
func appendBlock(dst []byte, streamID uint32, endStream bool, block []byte) []byte {
	typ := http2.FrameHeaders
	for first := true; first || len(block) > 0; first = false {
		n := min(len(block), grpcMaxFrameSize)
		var flags http2.Flags
		if first && endStream {
			flags |= http2.FlagHeadersEndStream
		}
		if n == len(block) {
			flags |= http2.FlagHeadersEndHeaders
		}
		dst = append(dst, byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags))
		dst = binary.BigEndian.AppendUint32(dst, streamID)
		dst = append(dst, block[:n]...)
		block = block[n:]
		typ = http2.FrameContinuation
	}
	return dst
}

// invalidTimeoutError is the answer to a call whose grpc-timeout the
// reader renamed, or nil: the main listener's, invalid_argument with an
// ErrorInfo.
func invalidTimeoutError(ctx context.Context) error {
	values := metadata.ValueFromIncomingContext(ctx, invalidTimeoutHeader)
	if len(values) == 0 {
		return nil
	}
	return service.GRPCError(connect.NewError(connect.CodeInvalidArgument,
		fmt.Errorf("protocol error: invalid grpc-timeout %q", values[0])))
}

// checkTimeoutUnary refuses a unary call with a bad grpc-timeout.
func checkTimeoutUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := invalidTimeoutError(ctx); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

// checkTimeoutStream refuses a streaming call with a bad grpc-timeout.
func checkTimeoutStream(srv any, stream grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := invalidTimeoutError(stream.Context()); err != nil {
		return err
	}
	return handler(srv, stream)
}
