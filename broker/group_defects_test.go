package broker

import (
	"strings"
	"testing"

	"github.com/weir-dev/weir/broker/group"
)

// TestGroupDefects: each group coordinator defect of the catalog parses to
// the coordinator's own defect, reaches the shard's config, and is the
// only kind IsGroupDefect names.
func TestGroupDefects(t *testing.T) {
	n := 0
	for _, d := range DefectCatalog() {
		defects, err := ParseDefect(d.Name)
		if err != nil {
			t.Fatal(err)
		}
		isGroup := strings.HasPrefix(d.Name, "group-")
		if d.Name == TxnApplyAbortedOffsets {
			// The coordinator's, but planted in the transactional
			// mode, not the consumer-group mode.
			if IsGroupDefect(d.Name) || !defects.Group.ApplyAbortedTxnOffsets {
				t.Errorf("%s: IsGroupDefect %v, group defects %+v", d.Name, IsGroupDefect(d.Name), defects.Group)
			}
			continue
		}
		if IsGroupDefect(d.Name) != isGroup || (defects.Group != group.Defects{}) != isGroup {
			t.Errorf("%s: IsGroupDefect %v, group defects %+v", d.Name, IsGroupDefect(d.Name), defects.Group)
		}
		if !isGroup {
			continue
		}
		n++
		b := &Broker{cfg: Config{Defects: defects}}
		if got := b.groupCoordinatorConfig().Defects; got != defects.Group {
			t.Errorf("%s: the coordinator gets %+v", d.Name, got)
		}
		if len(d.CaughtBy) == 0 || d.Breaks == "" {
			t.Errorf("%s: no checker or description", d.Name)
		}
	}
	if n == 0 {
		t.Fatal("no group defect in the catalog")
	}
	if IsGroupDefect("") || IsGroupDefect("no-such-defect") {
		t.Error("IsGroupDefect of no defect")
	}
}
