package world

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// A late request's match: a client's Kafka request of the key, and a
// node's forward of one to the metadata quorum's leader (a leader's
// AlterPartition), never a request of another key.
func TestRequestOfKey(t *testing.T) {
	kafka := func(req kmsg.Request) []byte {
		return kmsg.NewRequestFormatter(kmsg.FormatterClientID("c")).AppendRequest(nil, req, 3)
	}
	// The quorum's RPC frame (broker/quorum's transport): length u32,
	// kind 3 (a request), correlation id u64, operation 1 (a forwarded
	// Kafka request), then the request's key u16 and version u16.
	forwarded := func(req kmsg.Request) []byte {
		b := binary.BigEndian.AppendUint32(nil, 0)
		b = append(b, 3)
		b = binary.BigEndian.AppendUint64(b, 1<<33)
		b = append(b, 1)
		b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
		b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
		b = req.AppendTo(b)
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		return b
	}
	alter, heartbeat := kmsg.NewPtrAlterPartitionRequest(), kmsg.NewPtrBrokerHeartbeatRequest()
	match := requestOfKey(kmsg.AlterPartition.Int16())
	for name, c := range map[string]struct {
		b    []byte
		want bool
	}{
		"a Kafka AlterPartition":     {kafka(alter), true},
		"a forwarded AlterPartition": {forwarded(alter), true},
		"a Kafka heartbeat":          {kafka(heartbeat), false},
		"a forwarded heartbeat":      {forwarded(heartbeat), false},
		"a short write":              {[]byte{0, 0}, false},
	} {
		if got := match(c.b); got != c.want {
			t.Errorf("%s: matched %t", name, got)
		}
	}
}
