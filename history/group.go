package history

import (
	"fmt"
	"strings"
)

// Functions of consumer-group members (history version 4).
const (
	// FnJoin starts a group member: Op.Join. Like a subscribe it starts a
	// consumer session of its process, which polls and commits.
	FnJoin = "join"
	// FnAssignment is a change of a member's partitions as its client
	// reported it (Op.Assignment), recorded by the member's events process.
	FnAssignment = "assignment"
	// FnCommit commits offsets for a group: Op.Commit.
	FnCommit = "commit"
	// FnOffsets reads a group's committed offsets (OffsetFetch): Op.Offsets.
	FnOffsets = "offsets"
)

// ProtocolConsumer is Join.Protocol for KIP-848's consumer group protocol.
const ProtocolConsumer = "consumer"

// Assignment events: what the member's client reported.
const (
	Assigned = "assigned" // partitions added (the generation's sync answered)
	Revoked  = "revoked"  // partitions given up before or during a rebalance
	Lost     = "lost"     // partitions lost without a clean revoke (session gone, fenced)
)

// Join starts a member of Group: a new client that subscribes to Topics and
// joins the group, reading from the committed offsets (from the log start
// where none is committed). The ok completion means the client was made;
// the join itself goes on in the background, and its outcomes are the
// assignment ops of Events.
type Join struct {
	Group  string   `json:"group"`
	Topics []string `json:"topics"`
	// Balancer names the client's assignor (range, roundrobin, sticky,
	// cooperative-sticky); with the consumer protocol, the one whose
	// server-side assignor the member asks for (range: "range", the
	// sticky ones: "uniform").
	Balancer      string `json:"balancer,omitempty"`
	ReadCommitted bool   `json:"read_committed,omitempty"`
	// Protocol is the group protocol the member joins with: "" for the
	// classic one (JoinGroup, SyncGroup), ProtocolConsumer for KIP-848's
	// (ConsumerGroupHeartbeat; a member's generation is then its member
	// epoch).
	Protocol string `json:"protocol,omitempty"`
	// InstanceID is the member's group.instance.id (KIP-345 static
	// membership); empty for a dynamic member. Incarnations that share
	// one are one member to the coordinator: the newer fences the older.
	InstanceID string `json:"instance_id,omitempty"`
	// Events is the process whose assignment ops are this member's: the
	// client reports them while this process may have a poll open.
	Events int `json:"events"`
}

// Assignment is one change of a member's partitions, as the client
// reported it in its callback: the member id and generation the client
// held then, and every partition it owns after the change (Topic's, in
// increasing order). An assignment op's invoke and completion carry the
// same value and are recorded back to back.
type Assignment struct {
	Group      string  `json:"group"`
	Member     string  `json:"member"`
	Generation int32   `json:"generation"`
	Event      string  `json:"event"` // Assigned, Revoked or Lost
	Topic      string  `json:"topic"`
	Owned      []int32 `json:"owned"`
	// Changed are the partitions the event added (Assigned) or removed.
	Changed []int32 `json:"changed"`
}

// Commit commits offsets for Group as Member of Generation (the client's
// at the time; Unknown without one). The invoke carries the offsets asked
// for; an ok completion the same with each partition's answer in its
// Error ("" committed; with Indefinite, maybe committed), and the
// generation of the request the coordinator answered: a client may send a
// commit again at a newer one (kgo does after a STALE_MEMBER_EPOCH). Info: no answer, each may or may not be
// committed. Fail: nothing was sent.
type Commit struct {
	Group      string        `json:"group"`
	Member     string        `json:"member"`
	Generation int32         `json:"generation"`
	Offsets    []GroupOffset `json:"offsets"`
}

// Offsets reads the committed offsets of Group (OffsetFetch). The ok
// completion carries one GroupOffset per partition answered: Offset
// Unknown when the group has none committed there.
type Offsets struct {
	Group   string        `json:"group"`
	Offsets []GroupOffset `json:"offsets,omitempty"`
}

// GroupOffset is one partition's committed offset: the next offset to
// read, the leader epoch of the record before it and the commit's
// metadata, as committed or as read back.
type GroupOffset struct {
	Topic       string `json:"topic"`
	Partition   int32  `json:"partition"`
	Offset      int64  `json:"offset"`
	LeaderEpoch int32  `json:"leader_epoch"`
	Metadata    string `json:"metadata,omitempty"`
	Error       string `json:"error,omitempty"`
	// Indefinite marks an error of a commit's answer that leaves open
	// whether the offset was committed (NOT_COORDINATOR: the coordinator
	// moved while the commit was being written); other errors mean it
	// was not.
	Indefinite bool `json:"indefinite,omitempty"`
}

// Committed reports whether an ok commit's answer accepted g.
func (g *GroupOffset) Committed() bool { return g.Error == "" }

// String is e.g. "orders/2@41".
func (g *GroupOffset) String() string {
	s := fmt.Sprintf("%s/%d@%d", g.Topic, g.Partition, g.Offset)
	if g.LeaderEpoch >= 0 {
		s += fmt.Sprintf(" e%d", g.LeaderEpoch)
	}
	if g.Error != "" {
		s += " (" + g.Error + ")"
	}
	return s
}

// groupString is the group part of Op.String.
func (o *Op) groupString(b *strings.Builder) {
	switch {
	case o.Join != nil:
		fmt.Fprintf(b, " %s %v events p%d", o.Join.Group, o.Join.Topics, o.Join.Events)
	case o.Assignment != nil:
		a := o.Assignment
		fmt.Fprintf(b, " %s %s gen %d %s %v owns %s%v", a.Group, a.Member, a.Generation, a.Event, a.Changed, a.Topic, a.Owned)
	case o.Commit != nil:
		fmt.Fprintf(b, " %s gen %d", o.Commit.Group, o.Commit.Generation)
		for i := range o.Commit.Offsets {
			b.WriteString(" " + o.Commit.Offsets[i].String())
		}
	case o.Offsets != nil:
		b.WriteString(" " + o.Offsets.Group)
		for i := range o.Offsets.Offsets {
			b.WriteString(" " + o.Offsets.Offsets[i].String())
		}
	}
}

// checkGroup reports what is malformed in a group op's value.
func (o *Op) checkGroup() error {
	switch o.F {
	case FnJoin:
		if o.Join == nil || o.Join.Group == "" {
			return fmt.Errorf("op %d: join without a group", o.Index)
		}
	case FnAssignment:
		a := o.Assignment
		if a == nil || a.Group == "" {
			return fmt.Errorf("op %d: assignment without a group", o.Index)
		}
		if a.Event != Assigned && a.Event != Revoked && a.Event != Lost {
			return fmt.Errorf("op %d: assignment event %q", o.Index, a.Event)
		}
		if err := checkPartitions(a.Owned); err != nil {
			return fmt.Errorf("op %d: owned: %w", o.Index, err)
		}
		if err := checkPartitions(a.Changed); err != nil {
			return fmt.Errorf("op %d: changed: %w", o.Index, err)
		}
	case FnCommit:
		if o.Commit == nil || o.Commit.Group == "" {
			return fmt.Errorf("op %d: commit without a group", o.Index)
		}
		return checkOffsets(o.Index, o.Commit.Offsets)
	case FnOffsets:
		if o.Offsets == nil || o.Offsets.Group == "" {
			return fmt.Errorf("op %d: offsets without a group", o.Index)
		}
		return checkOffsets(o.Index, o.Offsets.Offsets)
	}
	return nil
}

func checkPartitions(ps []int32) error {
	for i, p := range ps {
		if p < 0 || (i > 0 && p <= ps[i-1]) {
			return fmt.Errorf("partitions %v not increasing from 0", ps)
		}
	}
	return nil
}

func checkOffsets(index int64, os []GroupOffset) error {
	for _, g := range os {
		if g.Partition < 0 || g.Offset < Unknown || g.LeaderEpoch < Unknown {
			return fmt.Errorf("op %d: bad group offset %s", index, g.String())
		}
	}
	return nil
}
