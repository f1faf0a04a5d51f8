package host

import (
	"syscall"

	"github.com/tetratelabs/wazero/experimental"
)

// guestMemory backs each guest's linear memory with one private anonymous
// mapping of the memory's maximum size (4 GiB for Go's wasm modules),
// reserved, not committed: the kernel gives a page when the guest first
// touches it. wazero's own memory grows by append, so each memory.grow past
// the capacity copied the whole memory into a new Go slice and left the old
// one to the GC: 2-3% of a run's CPU in memmove, more in page clearing,
// and a host RSS of 2-4 times the guest's memory (docs/PERFORMANCE.md,
// "The simulator's own speed"). Growing a mapping is a slice of it.
// nil (wazero's default) if the mapping cannot be made.
func guestMemory() experimental.MemoryAllocator {
	return experimental.MemoryAllocatorFunc(func(capBytes, maxBytes uint64) experimental.LinearMemory {
		b, err := syscall.Mmap(-1, 0, int(maxBytes), syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
		if err != nil {
			return &sliceMemory{}
		}
		return &mappedMemory{b: b}
	})
}

// mappedMemory is a linear memory in one mapping of its maximum size.
type mappedMemory struct{ b []byte }

func (m *mappedMemory) Reallocate(size uint64) []byte {
	if size > uint64(len(m.b)) {
		return nil
	}
	return m.b[:size:size]
}

func (m *mappedMemory) Free() {
	if m.b != nil {
		syscall.Munmap(m.b)
		m.b = nil
	}
}
