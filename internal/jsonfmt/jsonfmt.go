// Package jsonfmt writes the JSON forms of proto3 JSON's strings and
// timestamps, for the codecs that encode messages and the transcoder that
// writes proto JSON straight from a REST body.
package jsonfmt

import (
	"math/bits"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendString appends s as a JSON string, escaping the quote, the
// backslash and control characters; other characters are written as they
// are. It reports false, having appended part of s, when s is not valid
// UTF-8.
func AppendString(b []byte, s string) ([]byte, bool) {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= ' ' && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 {
				return b, false
			}
			i += n
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\')
		switch c {
		case '"', '\\':
			b = append(b, c)
		case '\b':
			b = append(b, 'b')
		case '\f':
			b = append(b, 'f')
		case '\n':
			b = append(b, 'n')
		case '\r':
			b = append(b, 'r')
		case '\t':
			b = append(b, 't')
		default:
			b = append(b, 'u')
			b = append(b, "0000"[1+(bits.Len32(uint32(c))-1)/4:]...)
			b = strconv.AppendUint(b, uint64(c), 16)
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"'), true
}

// AppendTimestamp appends a valid Timestamp's seconds and nanos as proto3
// JSON writes them: a quoted RFC 3339 time in UTC, with 0, 3, 6 or 9
// digits of fraction.
func AppendTimestamp(b []byte, seconds int64, nanos int32) []byte {
	b = append(b, '"')
	b = time.Unix(seconds, 0).UTC().AppendFormat(b, "2006-01-02T15:04:05")
	n := int64(nanos)
	switch {
	case n == 0:
	case n%1e6 == 0:
		b = appendFraction(b, n/1e6, 3)
	case n%1e3 == 0:
		b = appendFraction(b, n/1e3, 6)
	default:
		b = appendFraction(b, n, 9)
	}
	return append(b, 'Z', '"')
}

func appendFraction(b []byte, v int64, digits int) []byte {
	var buf [9]byte
	for i := digits - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(append(b, '.'), buf[:digits]...)
}
