//go:build !linux

package host

import "github.com/tetratelabs/wazero/experimental"

// guestMemory is wazero's default memory where there is no mapping to
// reserve (memory_linux.go).
func guestMemory() experimental.MemoryAllocator { return nil }
