package quorum

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/weir-dev/weir/broker/controller"
	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/env"
)

// Voter is one voter of the quorum: a node id and its controller listener.
type Voter struct {
	ID   int32
	Addr string // host:port
}

// ParseVoters parses Kafka's controller.quorum.voters: "1@host:port,2@host:port".
func ParseVoters(s string) ([]Voter, error) {
	var out []Voter
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		idStr, addr, ok := strings.Cut(part, "@")
		if !ok {
			return nil, fmt.Errorf("controller.quorum.voters: %q is not id@host:port", part)
		}
		id, err := strconv.ParseInt(idStr, 10, 32)
		if err != nil || id < 0 {
			return nil, fmt.Errorf("controller.quorum.voters: %q: bad node id", part)
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("controller.quorum.voters: %q: %v", part, err)
		}
		if slices.ContainsFunc(out, func(v Voter) bool { return v.ID == int32(id) }) {
			return nil, fmt.Errorf("controller.quorum.voters: node %d appears twice", id)
		}
		out = append(out, Voter{ID: int32(id), Addr: addr})
	}
	return out, nil
}

// Config is one node of the metadata quorum.
type Config struct {
	// NodeID is the node's id (node.id). A node named in Voters is a
	// voter; any other node is a learner that follows the log (a broker
	// in a cluster with dedicated controllers).
	NodeID int32
	// Voters is controller.quorum.voters, the same on every node.
	Voters []Voter
	// ListenAddr is where this node accepts quorum connections (its
	// CONTROLLER listener). A voter's defaults to its Voters entry; a
	// learner must have one, since the leader sends it the log.
	ListenAddr string
	// AdvertisedAddr is the address other nodes dial; ListenAddr if empty.
	AdvertisedAddr string
	// Standalone is a one-voter quorum that no other node can reach: no
	// controller listener at all (a single broker started without quorum
	// settings). Voters must then be this node alone.
	Standalone bool
	// Dir holds the Raft log and snapshots (a folder of the data dir).
	Dir string

	FS    env.FS
	Net   env.Net
	Clock env.Clock
	// Rand draws the cluster and topic ids; seeded in simulation.
	Rand *rand.Rand

	// Defaults resolve topic configs in the images this node builds.
	Defaults *metadata.Defaults
	// Controller configures the decisions this node makes as leader.
	Controller controller.Config

	// TickInterval is one Raft tick; ElectionTicks and HeartbeatTicks
	// count them. Defaults: 50ms, 20 (1s), 2 (100ms).
	TickInterval   time.Duration
	ElectionTicks  int
	HeartbeatTicks int
	// RequestTimeout bounds Submit when the caller's context has no
	// earlier deadline: with no leader, or a leader without a majority,
	// a write fails with ErrUnavailable after this long. Default 5s.
	RequestTimeout time.Duration
	// SnapshotEntries is how many applied entries trigger a snapshot and
	// log compaction; the newest half of them stay in the log for slow
	// followers. Default 1024.
	SnapshotEntries uint64

	Logger *slog.Logger
	// Observer, if set, is told of leadership and of every entry applied,
	// on the node's loop goroutine: it must be quick and must not call
	// the Node. The metadata checker records a History with it.
	Observer func(Event)
}

func (c *Config) fill() error {
	if c.FS == nil || c.Net == nil || c.Clock == nil || c.Rand == nil {
		return errors.New("quorum: FS, Net, Clock and Rand are required")
	}
	if len(c.Voters) == 0 {
		return errors.New("quorum: no voters")
	}
	if c.NodeID < 0 {
		return fmt.Errorf("quorum: node id %d", c.NodeID)
	}
	if c.Standalone {
		if len(c.Voters) != 1 || c.Voters[0].ID != c.NodeID {
			return errors.New("quorum: a standalone node must be its only voter")
		}
	} else if c.ListenAddr == "" {
		i := slices.IndexFunc(c.Voters, func(v Voter) bool { return v.ID == c.NodeID })
		if i < 0 {
			return fmt.Errorf("quorum: node %d is not a voter and has no controller listener", c.NodeID)
		}
		c.ListenAddr = c.Voters[i].Addr
	}
	if c.AdvertisedAddr == "" {
		c.AdvertisedAddr = c.ListenAddr
	}
	if c.TickInterval <= 0 {
		c.TickInterval = 50 * time.Millisecond
	}
	if c.ElectionTicks <= 0 {
		c.ElectionTicks = 20
	}
	if c.HeartbeatTicks <= 0 {
		c.HeartbeatTicks = 2
	}
	if c.HeartbeatTicks >= c.ElectionTicks {
		return fmt.Errorf("quorum: heartbeat ticks %d must be below election ticks %d", c.HeartbeatTicks, c.ElectionTicks)
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = 5 * time.Second
	}
	if c.SnapshotEntries == 0 {
		c.SnapshotEntries = 1024
	}
	if c.Controller == (controller.Config{}) {
		c.Controller = controller.DefaultConfig()
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// raftID maps a Kafka node id (0 allowed) to a Raft id (0 reserved).
func raftID(node int32) uint64 { return uint64(node) + 1 }

func nodeID(raft uint64) int32 {
	if raft == 0 {
		return -1
	}
	return int32(raft - 1)
}

// A snapshot's data is the address book (so a restarted node can reach
// learners added before its snapshot) and the image's snapshot:
//
//	"WQS1" | count u32 | (raft id u64 | length u16 | address)... | metadata snapshot

var snapDataMagic = [4]byte{'W', 'Q', 'S', '1'}

func encodeSnapData(addrs map[uint64]string, img *metadata.Image) []byte {
	b := append([]byte(nil), snapDataMagic[:]...)
	ids := make([]uint64, 0, len(addrs))
	for id := range addrs {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.BigEndian.AppendUint64(b, id)
		b = binary.BigEndian.AppendUint16(b, uint16(len(addrs[id])))
		b = append(b, addrs[id]...)
	}
	return metadata.EncodeSnapshot(b, img)
}

func decodeSnapData(b []byte, defaults *metadata.Defaults) (map[uint64]string, *metadata.Image, error) {
	if len(b) < 8 || [4]byte(b[:4]) != snapDataMagic {
		return nil, nil, fmt.Errorf("%w: not a quorum snapshot", errCorruptLog)
	}
	n := binary.BigEndian.Uint32(b[4:])
	b = b[8:]
	addrs := map[uint64]string{}
	for i := uint32(0); i < n; i++ {
		if len(b) < 10 {
			return nil, nil, fmt.Errorf("%w: short address book", errCorruptLog)
		}
		id, l := binary.BigEndian.Uint64(b), int(binary.BigEndian.Uint16(b[8:]))
		if len(b) < 10+l {
			return nil, nil, fmt.Errorf("%w: short address", errCorruptLog)
		}
		addrs[id] = string(b[10 : 10+l])
		b = b[10+l:]
	}
	img, err := metadata.DecodeSnapshot(b, defaults)
	if err != nil {
		return nil, nil, err
	}
	return addrs, img, nil
}
