package service

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/ampersand-connect/gateway/internal/rest"
)

// redacted replaces a credential found in upstream text.
const redacted = "[REDACTED]"

// minSecretLen is the length from which a credential is searched for in
// upstream text: a shorter one is no credential anyone uses, and would
// match ordinary words.
const minSecretLen = 4

// redactor removes the credentials of one call from upstream text before
// it goes into an error (message or detail) or a log line: an upstream may
// echo what it was sent. Its zero value removes nothing. Building one
// allocates nothing; only text that holds a credential is copied.
type redactor struct {
	secrets [4]string // longest first, so that a secret holding another goes whole
}

// newRedactor returns the redactor of a call that carried creds, on a
// service whose own key is serverKey: the key, the authorization header
// and its token (what follows the scheme), and the server's key.
func newRedactor(creds rest.Credentials, serverKey string) redactor {
	var r redactor
	_, token, _ := strings.Cut(creds.Authorization, " ")
	r.secrets = [4]string{creds.APIKey, creds.Authorization, strings.TrimSpace(token), serverKey}
	slices.SortFunc(r.secrets[:], func(a, b string) int { return len(b) - len(a) })
	return r
}

// text returns s with each credential replaced by [redacted].
func (r redactor) text(s string) string {
	for _, secret := range r.secrets {
		if len(secret) >= minSecretLen && strings.Contains(s, secret) {
			s = strings.ReplaceAll(s, secret, redacted)
		}
	}
	return s
}

// message redacts every string of m, in place.
func (r redactor) message(m proto.Message) {
	if r.secrets[0] == "" || !m.ProtoReflect().IsValid() {
		return
	}
	rewriteStrings(m.ProtoReflect(), r.text)
}
