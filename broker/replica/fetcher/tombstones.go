package fetcher

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kbin"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/replica"
)

// The leader's tombstone mark (replica.TombstoneMark) travels to its
// followers in a tagged field of the Fetch response's partition (flexible
// versions, v12 and up; the fetcher speaks v15), a Weir extension: Kafka
// has no such field, and its clients skip a tag they do not know. Only a
// follower's Fetch is answered with it. The value is two int64s, Below
// then Gen, as kbin encodes them.
const (
	// tombstoneTag is far above the tags Kafka uses (0 to 2 here), so a
	// later Kafka version cannot take it.
	tombstoneTag   = 0x5745_0001
	tombstoneBytes = 16
)

// errBadTombstoneTag: the tag is there but does not hold a mark.
var errBadTombstoneTag = errors.New("fetcher: malformed tombstone mark tag")

// SetTombstoneMark puts the leader's mark m into its answer to a
// follower's fetch; nothing for a zero mark (the log lacks no tombstone).
func SetTombstoneMark(sp *kmsg.FetchResponseTopicPartition, m replica.TombstoneMark) {
	if m == (replica.TombstoneMark{}) {
		return
	}
	v := kbin.AppendInt64(make([]byte, 0, tombstoneBytes), m.Below)
	sp.UnknownTags.Set(tombstoneTag, kbin.AppendInt64(v, m.Gen))
}

// TombstoneMarkOf reads the mark a leader put into sp: zero when there is
// none, an error when the tag does not hold one (then the answer cannot
// be trusted to say what the leader's log lacks).
func TombstoneMarkOf(sp *kmsg.FetchResponseTopicPartition) (replica.TombstoneMark, error) {
	var m replica.TombstoneMark
	var err error
	sp.UnknownTags.Each(func(key uint32, val []byte) {
		if key != tombstoneTag {
			return
		}
		r := kbin.Reader{Src: val}
		m.Below, m.Gen = r.Int64(), r.Int64()
		if r.Complete() != nil || len(r.Src) > 0 || m.Below < 0 || m.Gen < 0 {
			m, err = replica.TombstoneMark{}, errBadTombstoneTag
		}
	})
	return m, err
}
