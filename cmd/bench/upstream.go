package main

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/ampersand-connect/gateway/internal/demo"
)

// sampleName is the integration name in demo.Sized's bodies.
const sampleName = `"name":"read-accounts"`

// integrationBody is an integration of about size bytes, split around its
// name's value so that a body can be written with any name.
type integrationBody struct {
	head, tail []byte
}

func newIntegrationBody(size int) integrationBody {
	body := demo.Sized(size)
	i := bytes.LastIndex(body, []byte(sampleName)) // the top-level name follows the revision's
	if i < 0 {
		panic("bench: the sample integration has no " + sampleName)
	}
	valueAt := i + len(`"name":"`)
	return integrationBody{head: body[:valueAt], tail: body[valueAt+len("read-accounts"):]}
}

func (b integrationBody) len(name string) int { return len(b.head) + len(name) + len(b.tail) }

func (b integrationBody) appendTo(dst []byte, name string) []byte {
	dst = append(dst, b.head...)
	dst = append(dst, name...)
	return append(dst, b.tail...)
}

// listLength is how many integrations of about 1.9 KB a list answer holds
// so that it is about size bytes: at least one.
func listLength(one, size int) int { return max(1, size/one) }

// upstreamHandler is the stand-in upstream. It answers a GET of
// /v1/projects/{p}/integrations/{name} with an integration of about size
// bytes named name, and a GET of /v1/projects/{p}/integrations with a list
// of integrations of about 1.9 KB each, named p-0, p-1 ..., that is about
// size bytes in all. A call that names another integration or project so
// gets a body of its own. With vary, every body is followed by 0 to 255
// spaces, one more each request, so that even identical calls get bodies
// that differ.
func upstreamHandler(size int, vary bool) http.Handler {
	one := newIntegrationBody(size)
	small := newIntegrationBody(0)
	var count atomic.Uint64
	spaces := bytes.Repeat([]byte{' '}, 255)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/v1/projects/")
		project, rest, _ := strings.Cut(rest, "/")
		if !ok || r.Method != http.MethodGet || project == "" {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		var body []byte
		switch name, isGet := strings.CutPrefix(rest, "integrations/"); {
		case isGet && name != "" && !strings.Contains(name, "/"):
			body = one.appendTo(make([]byte, 0, one.len(name)+255), name)
		case rest == "integrations":
			n := listLength(small.len("read-accounts"), size)
			body = make([]byte, 0, n*(small.len(project)+12)+257)
			body = append(body, '[')
			for i := range n {
				if i > 0 {
					body = append(body, ',')
				}
				body = small.appendTo(body, project+"-"+strconv.Itoa(i))
			}
			body = append(body, ']')
		default:
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		if vary {
			body = append(body, spaces[:count.Add(1)%256]...)
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write(body)
	})
}
