package txn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"

	"github.com/weir-dev/weir/env"
	"github.com/weir-dev/weir/internal/checksum"
)

// The id file holds the end (exclusive) of the last block of producer ids
// handed out:
//
//	magic   [8]byte  "weirpid1"
//	end     int64    big endian, >= 0
//	crc     uint32   CRC-32C of magic and end
//
// The magic and the checksum make a file that is not ours, or damaged, an
// error rather than a silent restart from 0, which would reuse ids.
const (
	idFileMagic = "weirpid1"
	idFileSize  = len(idFileMagic) + 8 + 4
)

// ErrIDFileCorrupt means the producer id file exists but does not hold a
// valid block end. Ids cannot be handed out safely until an operator looks:
// starting over would reuse ids.
var ErrIDFileCorrupt = errors.New("txn: producer id file is corrupt")

// ErrIDsExhausted means every non-negative int64 has been handed out.
var ErrIDsExhausted = errors.New("txn: producer ids exhausted")

// IDAllocator hands out producer ids that are unique across restarts. It is
// safe for concurrent use.
//
// Ids are taken in blocks of blockSize: taking a block writes its end to the
// file durably (temporary file, Sync, Rename, SyncDir) before the first id
// of it is returned, so one write covers blockSize InitProducerId calls. A
// restart starts with a new block after the recorded end; the unused rest of
// the old block is skipped, never reused. (In Kafka the controller hands
// out the blocks; a single Weir broker keeps its own file until the
// metadata quorum does it.)
//
// One IDAllocator owns its file: two open on the same file at once would
// hand out the same block.
type IDAllocator struct {
	fs        env.FS
	path      string
	blockSize int64

	mu       sync.Mutex
	next     int64 // next id to return
	blockEnd int64 // end (exclusive) of the current block, durable in the file
}

// OpenIDAllocator opens the allocator whose state is the file at path, on
// fs. A missing file starts at id 0; a file that is not a valid id file is
// an error wrapping ErrIDFileCorrupt. blockSize must be positive.
//
// Opening writes nothing: the first Next takes a new block.
func OpenIDAllocator(fs env.FS, path string, blockSize int64) (*IDAllocator, error) {
	if blockSize <= 0 {
		return nil, fmt.Errorf("txn: producer id block size %d must be positive", blockSize)
	}
	end, err := readIDFile(fs, path)
	if err != nil {
		return nil, err
	}
	return &IDAllocator{fs: fs, path: path, blockSize: blockSize, next: end, blockEnd: end}, nil
}

// Next returns a producer id that no earlier Next on this file returned,
// before or after a restart. Ids increase. An error means no id was handed
// out; a later call may succeed (for example once a disk fault clears).
func (a *IDAllocator) Next() (int64, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.next == a.blockEnd {
		if a.blockEnd > math.MaxInt64-a.blockSize {
			return -1, ErrIDsExhausted
		}
		end := a.blockEnd + a.blockSize
		if err := writeIDFile(a.fs, a.path, end); err != nil {
			// The file may or may not hold end now; either way no id of
			// the block was handed out, and a retry writes end again.
			return -1, fmt.Errorf("txn: persisting producer id block end %d: %w", end, err)
		}
		a.blockEnd = end
	}
	id := a.next
	a.next++
	return id, nil
}

// idFileReads is how many times readIDFile reads the file before it calls a
// bad checksum corruption rather than a bit flipped on the way from the
// disk: more than the simulator's fault atlas flips in one disk-fault window.
const idFileReads = 5

func readIDFile(fs env.FS, path string) (int64, error) {
	var end int64
	err := env.ReadFileVerified(fs, path, int64(idFileSize), idFileReads, func(buf []byte) (err error) {
		end, err = parseIDFile(buf)
		return err
	})
	switch {
	case errors.Is(err, os.ErrNotExist):
		return 0, nil
	case errors.Is(err, ErrIDFileCorrupt):
		return 0, fmt.Errorf("%w: %s: %v", ErrIDFileCorrupt, path, err)
	case err != nil:
		return 0, fmt.Errorf("txn: reading producer id file %s: %w", path, err)
	}
	return end, nil
}

// idFileError is a reason the id file is corrupt.
type idFileError string

func (e idFileError) Error() string { return string(e) }
func (e idFileError) Unwrap() error { return ErrIDFileCorrupt }

// parseIDFile checks the id file's bytes and returns the block end.
func parseIDFile(buf []byte) (int64, error) {
	if len(buf) != idFileSize {
		return 0, idFileError(fmt.Sprintf("holds %d bytes, want %d", len(buf), idFileSize))
	}
	if string(buf[:len(idFileMagic)]) != idFileMagic {
		return 0, idFileError(fmt.Sprintf("does not start with %q", idFileMagic))
	}
	if _, got, want, ok := checksum.Split(buf); !ok {
		return 0, idFileError(fmt.Sprintf("checksum %08x, file says %08x", got, want))
	}
	end := int64(binary.BigEndian.Uint64(buf[len(idFileMagic):]))
	if end < 0 {
		return 0, idFileError(fmt.Sprintf("records negative block end %d", end))
	}
	return end, nil
}

// writeIDFile replaces the file at path with one recording end, durably.
// Rename makes the replacement atomic, so a crash leaves the old file or the
// new one, both valid; the temporary file is synced first so the new name
// never points at unsynced (after a crash, empty or torn) content.
func writeIDFile(fs env.FS, path string, end int64) error {
	buf := make([]byte, 0, idFileSize)
	buf = append(buf, idFileMagic...)
	buf = binary.BigEndian.AppendUint64(buf, uint64(end))
	buf = checksum.Append(buf, 0)

	return env.WriteFileAtomic(fs, path, buf)
}
