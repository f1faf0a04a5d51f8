package memfs

import "sync"

// FlipReads is a ReadCorrupter for tests of code that must survive a bit
// flipped on the way from the disk: it flips one bit of what each of the
// first N reads of the file at Path returns (any file if Path is ""), then
// none. The flipped bit is in the middle of what was read. The stored bytes
// never change. Safe for concurrent use.
type FlipReads struct {
	Path string
	N    int

	mu sync.Mutex
}

// MaybeError never fails an operation.
func (*FlipReads) MaybeError(Op, string) error { return nil }

// CorruptRead flips a bit while flips are left.
func (f *FlipReads) CorruptRead(_ Op, path string, _ int64, p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.N > 0 && len(p) > 0 && (f.Path == "" || path == f.Path) {
		f.N--
		p[len(p)/2] ^= 0x04
	}
}

var _ ReadCorrupter = (*FlipReads)(nil)
