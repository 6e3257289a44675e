package main

import "net/http"

// withGrownStack grows the stack of the goroutine that serves each HTTP/2
// request before the request goes deeper. The HTTP/2 server starts a new
// goroutine per stream, with the runtime's smallest stack; serving a call
// takes about 10 KiB of it (the connect-go handler, the upstream request,
// the decoder), so the stack grew twice or three times per call, and each
// growth copied every frame below it: runtime.newstack was 8% of the
// server's CPU on the gRPC path. Growing once, while the stack is shallow,
// costs one small copy. An HTTP/1.1 connection serves its requests on one
// long-lived goroutine whose stack, once grown, stays grown.
//
// CockroachDB does the same for its gRPC handlers (util/growstack).
func withGrownStack(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			_ = growStack()
		}
		h.ServeHTTP(w, r)
	})
}

// growStack needs a frame of 8 KiB, so the runtime gives a goroutine on
// its first 2 KiB a 16 KiB stack at once: the doubling that fits the frame.
// It returns a byte of the frame, read at an index the compiler cannot
// know, so that the frame is not optimized away.
//
//go:noinline
func growStack() byte {
	var frame [8 << 10]byte
	return frame[stackIndex]
}

// stackIndex is never written: a variable, not a constant, for growStack.
var stackIndex int
