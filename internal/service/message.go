package service

import (
	"sync/atomic"

	"google.golang.org/protobuf/proto"
)

// message is a request or a response of any method, for connect-go's
// generic handlers and grpc-go's handler functions, which need one Go type
// for every method. It is the proto message it holds (the methods are the
// message's, so a codec or an interceptor sees a proto.Message); a
// response several calls send (coalesced, cached or memoized) also holds
// its encodings, made once per codec. A message is never copied.
type message struct {
	proto.Message
	shared atomic.Pointer[encodings] // nil until shareEncodings
}
