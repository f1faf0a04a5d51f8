package stream

import (
	"errors"
	"testing"

	"github.com/weir-dev/weir/history"
)

// TestStaleClaimRefused (seed 71144): member kgo-6449 held clicks/0 from
// generation 1; the coordinator removed it, kgo's JoinGroup was answered
// UNKNOWN_MEMBER_ID and kgo joined again as kgo-c616 keeping the
// partition, its positions and buffered records, with no loss reported
// (only the empty revoke that ends a cooperative session). The member
// processed those records and committed clicks/0@30 as kgo-c616 in
// generation 3, where the partition was another member's, after that
// member's commit of 417. A commit as the new member id is refused before
// it is sent; one as the id the partition was assigned to, or of a
// partition the callbacks took away, is not.
func TestStaleClaimRefused(t *testing.T) {
	m := &member{p: &Processor{cfg: Config{Input: "clicks"}}, held: map[int32]string{}}
	m.noteHeld(history.Assigned, "kgo-6449", []int32{0})
	m.noteHeld(history.Revoked, "kgo-6449", nil) // the end of the session
	if err := m.staleClaim("kgo-6449", []int32{0}); err != nil {
		t.Fatalf("commit as the assignee refused: %v", err)
	}
	if err := m.staleClaim("kgo-c616", []int32{0}); !errors.Is(err, errStaleClaim) {
		t.Fatalf("commit as a new member id of the client: %v, want errStaleClaim", err)
	}
	// Reassigned to the new id (the callback reported it), the claim is
	// the new id's.
	m.noteHeld(history.Lost, "kgo-6449", []int32{0})
	if err := m.staleClaim("kgo-c616", []int32{0}); err != nil {
		t.Fatalf("commit of a partition no longer held: %v", err)
	}
	m.noteHeld(history.Assigned, "kgo-c616", []int32{0})
	if err := m.staleClaim("kgo-c616", []int32{0}); err != nil {
		t.Fatalf("commit as the new assignee refused: %v", err)
	}
	if err := m.staleClaim("kgo-6449", []int32{0}); !errors.Is(err, errStaleClaim) {
		t.Fatalf("commit as the old id after a reassignment: %v, want errStaleClaim", err)
	}
}
