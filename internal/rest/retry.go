package rest

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"
)

// RetryPolicy says which failed calls are tried again, and when. Only safe
// failures are retried: a connection failure, 408, 429, 502, 503 and 504.
type RetryPolicy struct {
	// MaxAttempts is the number of attempts in all; 1 disables retries.
	MaxAttempts int
	// MinWait and MaxWait bound the jittered exponential backoff.
	MinWait, MaxWait time.Duration
	// MaxHint is the longest wait the upstream may ask for (Retry-After or
	// the problem's retryAfter); a longer one is not waited for.
	MaxHint time.Duration
}

// DefaultRetryPolicy is 3 attempts in all, waits between 100 ms and 2 s,
// and upstream hints of up to 10 s honoured.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 3, MinWait: 100 * time.Millisecond, MaxWait: 2 * time.Second, MaxHint: 10 * time.Second}

// decide says whether a call that failed with err on attempt (from 1) is
// tried again, after how long, and why. It never retries once ctx is done,
// nor when the wait would not fit in what is left of ctx's deadline.
func (p RetryPolicy) decide(ctx context.Context, attempt int, err error) (wait time.Duration, retry bool, reason string) {
	if err == nil {
		return 0, false, "succeeded"
	}
	if ctx.Err() != nil {
		return 0, false, "context done"
	}
	if attempt >= p.MaxAttempts {
		return 0, false, "attempts exhausted"
	}
	hint, hasHint := time.Duration(0), false
	var upstreamErr *Error
	var unreachable *UnreachableError
	switch {
	case errors.As(err, &unreachable):
		reason = "connection failure"
	case errors.As(err, &upstreamErr):
		switch upstreamErr.StatusCode {
		case 408, 429, 502, 503, 504:
			reason = "status " + upstreamErr.Status()
		default:
			return 0, false, "status not retryable"
		}
		hint, hasHint = upstreamErr.retryHint()
	default:
		return 0, false, "error not retryable"
	}
	wait = p.backoff(attempt)
	if hasHint {
		if hint > p.MaxHint {
			return 0, false, "upstream asked to wait too long"
		}
		wait = max(wait, hint)
	}
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) < wait {
		return 0, false, "wait does not fit in the deadline"
	}
	return wait, true, reason
}

// backoff returns the jittered wait after attempt: about MinWait·2^attempt,
// half of it random, within [MinWait, MaxWait].
func (p RetryPolicy) backoff(attempt int) time.Duration {
	d := p.MinWait << min(attempt, 20)
	if d <= 0 || d > p.MaxWait {
		d = p.MaxWait
	}
	d = d/2 + rand.N(d/2+1)
	return min(max(d, p.MinWait), p.MaxWait)
}

// retryHint returns the wait the upstream asked for: the problem's
// retryAfter when present and valid, else the Retry-After header.
func (e *Error) retryHint() (time.Duration, bool) {
	if e.Problem != nil && e.Problem.RetryAfter != "" {
		if at, err := time.Parse(time.RFC3339Nano, e.Problem.RetryAfter); err == nil {
			return max(time.Until(at), 0), true
		}
	}
	return e.RetryAfter, e.HasRetryAfter
}

// sleep waits for d or until ctx is done, whichever comes first.
func sleep(ctx context.Context, d time.Duration) error {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return contextError(ctx)
	}
}
