package demo

// Unserved returns the operations of the spec the demo has no handler for.
func Unserved() []string {
	a, err := loadAPI()
	if err != nil {
		panic(err)
	}
	return a.unserved
}

// SetLimits lowers h's limits, for tests that reach them.
func (h *Handler) SetLimits(perKind, bytes int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.store.maxPerKind, h.store.maxBytes = perKind, bytes
}
