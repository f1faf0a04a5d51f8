package fetchsession

import (
	"math"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Epochs of KIP-227's FetchMetadata.
const (
	// InitialEpoch opens a new session (with session id 0), or closes the
	// named one and opens a new one.
	InitialEpoch int32 = 0
	// FinalEpoch asks for a full fetch without a session, closing the
	// named one.
	FinalEpoch int32 = -1
	// firstVersion is the first Fetch version with sessions.
	firstVersion = 7
	// topicIDVersion is the first Fetch version naming topics by id.
	topicIDVersion = 13
)

// NextEpoch is the epoch after e: e+1, wrapping from MaxInt32 to 1 (0
// and -1 have their own meanings), as Kafka's FetchMetadata.nextEpoch.
func NextEpoch(e int32) int32 {
	switch {
	case e < 0:
		return FinalEpoch
	case e == math.MaxInt32:
		return 1
	}
	return e + 1
}

// Key names a partition of a session: by topic id from Fetch v13 on (Topic
// is empty), by name before (TopicID is zero). A session holds keys of one
// kind only (FETCH_SESSION_TOPIC_ID_ERROR).
type Key struct {
	TopicID   [16]byte
	Topic     string
	Partition int32
}

// IDSource draws session ids. *math/rand/v2.Rand fits; the broker passes
// one seeded at start, so the simulator's ids follow its seed.
type IDSource interface {
	Int32N(n int32) int32
}

// Config bounds a Cache.
type Config struct {
	// Slots is max.incremental.fetch.session.cache.slots (Kafka's default
	// is 1000): the most sessions the cache holds. Zero holds none: every
	// fetch is answered as a full fetch with session id 0.
	Slots int
	// EvictAfter is min.incremental.fetch.session.eviction.ms (Kafka's
	// default 120 s): a session unused this long may be evicted by any new
	// one, and a session younger than this only by a follower's session
	// for more partitions (a consumer's by a follower's at any age).
	EvictAfter time.Duration
}

// Cache is a broker's fetch sessions. It is a state machine without I/O
// or clock: time comes in as now. It is not safe for concurrent use; the
// broker holds one lock around Begin and Finish.
type Cache struct {
	cfg      Config
	ids      IDSource
	sessions map[int32]*session
}

// New returns an empty cache drawing its session ids from ids.
func New(cfg Config, ids IDSource) *Cache {
	return &Cache{cfg: cfg, ids: ids, sessions: map[int32]*session{}}
}

// Len is the number of sessions held.
func (c *Cache) Len() int { return len(c.sessions) }

type session struct {
	id         int32
	privileged bool // a follower's
	topicIDs   bool // keys by topic id (Fetch v13+)
	created    time.Time
	lastUsed   time.Time
	// epoch is the epoch the next incremental request must carry.
	epoch int32
	// parts are the session's partitions in the order they are read and
	// answered; a partition answered with records moves to the end, so
	// the response size limit does not starve the ones after it. A Fetch
	// holds it: it is replaced, never changed in place (appends past the
	// length a Fetch holds are harmless).
	parts []*cached
	index map[Key]*cached
	// read is parts as request topics, built again only when parts or
	// their parameters change: an idle session's requests change nothing.
	// Never changed once built (a Fetch may hold it).
	read []kmsg.FetchRequestTopic
}

// cached is a partition of a session: what the last request that named it
// asked, and what the last response that carried it said.
type cached struct {
	key Key
	req partReq
	ans answer
}

// partReq is a request's parameters for one partition.
type partReq struct {
	fetchOffset        int64
	currentLeaderEpoch int32
	lastFetchedEpoch   int32
	logStartOffset     int64
	maxBytes           int32
}

// answer is what a response says of a partition besides its records: an
// incremental response carries the partition again only when it differs.
type answer struct {
	hw, lso, logStart int64
	preferred         int32
	err               int16
}

// Kind is how a request is served.
type Kind uint8

const (
	// Sessionless: a full fetch answered with session id 0 (Fetch below
	// v7, final epoch, a session emptied, or a session error).
	Sessionless Kind = iota
	// Full: a full fetch that opens a session if the cache has room.
	Full
	// Incremental: a fetch in a session: read every partition of the
	// session, answer those that changed.
	Incremental
)

func (k Kind) String() string {
	switch k {
	case Full:
		return "full"
	case Incremental:
		return "incremental"
	}
	return "sessionless"
}

// Fetch is the cache's decision for one request: answer Err alone, or
// read Topics and hand the response to Finish.
type Fetch struct {
	// Err, when not 0, is a session error (FETCH_SESSION_ID_NOT_FOUND,
	// INVALID_FETCH_SESSION_EPOCH, FETCH_SESSION_TOPIC_ID_ERROR): the
	// answer is that top-level error with session id 0 and no topics.
	Err  int16
	Kind Kind
	// Topics is what to read, in this order: the request's topics (full
	// and sessionless), or every partition of the session (incremental),
	// with the fetch offsets and epochs it last asked. The response must
	// list the partitions in the same order. It shares nothing with the
	// cache that the cache changes, but may alias the request: read it,
	// never change it.
	Topics []kmsg.FetchRequestTopic

	s          *session
	epoch      int32     // the session's epoch Finish expects (incremental)
	read       []*cached // the session's partitions in read order (incremental)
	privileged bool
	topicIDs   bool
}

// Begin decides how to serve req, updating the session it names.
// privileged marks a follower's fetch (a replica id >= 0).
func (c *Cache) Begin(req *kmsg.FetchRequest, privileged bool, now time.Time) Fetch {
	if req.Version < firstVersion {
		return Fetch{Kind: Sessionless, Topics: req.Topics}
	}
	topicIDs := req.Version >= topicIDVersion
	id, epoch := req.SessionID, req.SessionEpoch
	if epoch == InitialEpoch || epoch == FinalEpoch {
		if id != 0 {
			c.remove(id) // a full fetch closes the session it names
		}
		if epoch == FinalEpoch || c.cfg.Slots <= 0 {
			return Fetch{Kind: Sessionless, Topics: req.Topics}
		}
		return Fetch{Kind: Full, Topics: req.Topics, privileged: privileged, topicIDs: topicIDs}
	}
	s := c.sessions[id]
	switch {
	case s == nil:
		return Fetch{Err: kerr.FetchSessionIDNotFound.Code}
	case s.epoch != epoch:
		return Fetch{Err: kerr.InvalidFetchSessionEpoch.Code}
	case s.topicIDs != topicIDs:
		return Fetch{Err: kerr.FetchSessionTopicIDError.Code}
	}
	s.update(req, topicIDs)
	if len(s.parts) == 0 {
		c.remove(id)
		return Fetch{Kind: Sessionless, Topics: req.Topics}
	}
	s.lastUsed = now
	s.epoch = NextEpoch(s.epoch)
	return Fetch{Kind: Incremental, Topics: s.topics(), s: s, epoch: s.epoch, read: s.parts}
}

// Finish completes resp, the answer to f's read (its partitions in the
// order of f.Topics): it sets the session id, opens the session of a full
// fetch, and drops from an incremental answer the partitions with nothing
// new, remembering what it answered. It runs once the answer is final (a
// long-poll fetch reads again while it waits).
func (c *Cache) Finish(f *Fetch, resp *kmsg.FetchResponse, now time.Time) {
	resp.SessionID = 0
	switch f.Kind {
	case Full:
		resp.SessionID = c.open(f, resp, now)
	case Incremental:
		resp.SessionID = f.s.id
		if f.s.epoch != f.epoch {
			// Another request of the session came in meanwhile (a
			// duplicate): neither knows which answer the client keeps.
			resp.ErrorCode = kerr.InvalidFetchSessionEpoch.Code
			resp.Topics = nil
			return
		}
		f.s.filter(f.read, resp)
	}
}

// open creates the session of a full fetch if there is room, and returns
// its id (0: none).
func (c *Cache) open(f *Fetch, resp *kmsg.FetchResponse, now time.Time) int32 {
	n := 0
	for _, t := range f.Topics {
		n += len(t.Partitions)
	}
	if n == 0 {
		return 0 // an empty session would only hold a slot
	}
	if len(c.sessions) >= c.cfg.Slots && !c.evictFor(f.privileged, n, now) {
		return 0
	}
	s := &session{
		id:         c.newID(),
		privileged: f.privileged,
		topicIDs:   f.topicIDs,
		created:    now,
		lastUsed:   now,
		epoch:      NextEpoch(InitialEpoch),
		index:      make(map[Key]*cached, n),
	}
	answers := answersOf(resp)
	for _, t := range f.Topics {
		for _, p := range t.Partitions {
			k := keyOf(f.topicIDs, t.Topic, t.TopicID, p.Partition)
			cp := s.index[k]
			if cp == nil {
				k.Topic = strings.Clone(k.Topic)
				cp = &cached{key: k}
				s.index[k] = cp
				s.parts = append(s.parts, cp)
			}
			cp.req = reqOf(&p)
			cp.ans = noAnswer
			if a := answers[k]; a != nil {
				cp.ans = answerOf(a)
			}
		}
	}
	c.sessions[s.id] = s
	return s.id
}

// noAnswer is the answer of a partition never answered: any real answer
// differs from it, so the next response carries the partition.
var noAnswer = answer{hw: -2, lso: -2, logStart: -2, preferred: -2, err: -2}

// answersOf indexes a full response's partitions by key.
func answersOf(resp *kmsg.FetchResponse) map[Key]*kmsg.FetchResponseTopicPartition {
	topicIDs := resp.Version >= topicIDVersion
	out := map[Key]*kmsg.FetchResponseTopicPartition{}
	for i := range resp.Topics {
		t := &resp.Topics[i]
		for j := range t.Partitions {
			out[keyOf(topicIDs, t.Topic, t.TopicID, t.Partitions[j].Partition)] = &t.Partitions[j]
		}
	}
	return out
}

// newID draws an unused id in [1, MaxInt32): franz-go stops using
// sessions with a broker that answers an id <= 0.
func (c *Cache) newID() int32 {
	for {
		id := 1 + c.ids.Int32N(math.MaxInt32-1)
		if c.sessions[id] == nil {
			return id
		}
	}
}

func (c *Cache) remove(id int32) { delete(c.sessions, id) }

// evictFor makes room for a new session of size partitions, by Kafka's
// rules: first the session least recently used if it has been idle
// longer than EvictAfter; else the least valuable session the newcomer
// may evict, if the newcomer is worth more (a follower's over a
// consumer's, then more partitions). A follower may evict a consumer's
// session of any age, anyone a session older than EvictAfter. Ties go
// to the lower id, so the choice does not depend on map order.
func (c *Cache) evictFor(privileged bool, size int, now time.Time) bool {
	var lru *session
	for _, s := range c.sessions {
		if lru == nil || s.lastUsed.Before(lru.lastUsed) || (s.lastUsed.Equal(lru.lastUsed) && s.id < lru.id) {
			lru = s
		}
	}
	if lru == nil {
		return false
	}
	if now.Sub(lru.lastUsed) > c.cfg.EvictAfter {
		c.remove(lru.id)
		return true
	}
	var least *session
	for _, s := range c.sessions {
		old := now.Sub(s.created) > c.cfg.EvictAfter
		evictable := old || (privileged && !s.privileged)
		if evictable && (least == nil || lessValuable(s, least)) {
			least = s
		}
	}
	if least == nil || !worthMore(privileged, size, least) {
		return false
	}
	c.remove(least.id)
	return true
}

// lessValuable orders sessions as Kafka's EvictableKey: consumers' before
// followers', fewer partitions first, then lower id.
func lessValuable(a, b *session) bool {
	if a.privileged != b.privileged {
		return !a.privileged
	}
	if len(a.parts) != len(b.parts) {
		return len(a.parts) < len(b.parts)
	}
	return a.id < b.id
}

// worthMore tells whether a new session (id 0 in Kafka's key) ranks above
// s: strictly, since an equal one would have the lower id.
func worthMore(privileged bool, size int, s *session) bool {
	if privileged != s.privileged {
		return privileged
	}
	return size > len(s.parts)
}

func keyOf(topicIDs bool, topic string, id [16]byte, partition int32) Key {
	if topicIDs {
		return Key{TopicID: id, Partition: partition}
	}
	return Key{Topic: topic, Partition: partition}
}

func reqOf(p *kmsg.FetchRequestTopicPartition) partReq {
	return partReq{
		fetchOffset:        p.FetchOffset,
		currentLeaderEpoch: p.CurrentLeaderEpoch,
		lastFetchedEpoch:   p.LastFetchedEpoch,
		logStartOffset:     p.LogStartOffset,
		maxBytes:           p.PartitionMaxBytes,
	}
}

func answerOf(p *kmsg.FetchResponseTopicPartition) answer {
	return answer{hw: p.HighWatermark, lso: p.LastStableOffset, logStart: p.LogStartOffset, preferred: p.PreferredReadReplica, err: p.ErrorCode}
}

// update applies an incremental request: partitions it names are added
// or take its parameters, then ForgottenTopics are removed. Topic names
// are cloned: the request aliases the connection's buffer.
func (s *session) update(req *kmsg.FetchRequest, topicIDs bool) {
	for i := range req.Topics {
		t := &req.Topics[i]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			k := keyOf(topicIDs, t.Topic, t.TopicID, p.Partition)
			cp := s.index[k]
			if cp == nil {
				k.Topic = strings.Clone(k.Topic)
				cp = &cached{key: k, ans: noAnswer}
				s.index[k] = cp
				s.parts = append(s.parts, cp)
				s.read = nil
			}
			if r := reqOf(p); r != cp.req {
				cp.req = r
				s.read = nil
			}
		}
	}
	removed := false
	for _, t := range req.ForgottenTopics {
		for _, p := range t.Partitions {
			k := keyOf(topicIDs, t.Topic, t.TopicID, p)
			if s.index[k] != nil {
				delete(s.index, k)
				removed = true
			}
		}
	}
	if removed {
		kept := make([]*cached, 0, len(s.parts))
		for _, cp := range s.parts {
			if s.index[cp.key] == cp {
				kept = append(kept, cp)
			}
		}
		s.parts, s.read = kept, nil
	}
}

// topics is the session's partitions as request topics, in order: runs
// of one topic share an entry (a topic may appear more than once).
func (s *session) topics() []kmsg.FetchRequestTopic {
	if s.read != nil {
		return s.read
	}
	var out []kmsg.FetchRequestTopic
	for _, cp := range s.parts {
		if n := len(out); n == 0 || out[n-1].Topic != cp.key.Topic || out[n-1].TopicID != cp.key.TopicID {
			t := kmsg.NewFetchRequestTopic()
			t.Topic, t.TopicID = cp.key.Topic, cp.key.TopicID
			out = append(out, t)
		}
		p := kmsg.NewFetchRequestTopicPartition()
		p.Partition = cp.key.Partition
		p.FetchOffset = cp.req.fetchOffset
		p.CurrentLeaderEpoch = cp.req.currentLeaderEpoch
		p.LastFetchedEpoch = cp.req.lastFetchedEpoch
		p.LogStartOffset = cp.req.logStartOffset
		p.PartitionMaxBytes = cp.req.maxBytes
		t := &out[len(out)-1]
		t.Partitions = append(t.Partitions, p)
	}
	s.read = out
	return out
}

// filter drops from resp (the answer to read, partition by partition)
// what has nothing new, and remembers what it keeps. A partition must be
// answered when it has records, an error, a diverging epoch or a
// preferred read replica, or when its high watermark, last stable offset,
// log start offset or error differ from the last answer (an error is
// remembered, so its end is answered too).
func (s *session) filter(read []*cached, resp *kmsg.FetchResponse) {
	i := 0
	var withRecords []*cached
	topics := resp.Topics[:0]
	for _, t := range resp.Topics {
		parts := t.Partitions[:0]
		for j := range t.Partitions {
			p := &t.Partitions[j]
			var cp *cached
			if i < len(read) && read[i].key == keyOf(s.topicIDs, t.Topic, t.TopicID, p.Partition) {
				cp = read[i]
			}
			i++
			if cp == nil { // not what was read: keep it, remember nothing
				parts = append(parts, *p)
				continue
			}
			a := answerOf(p)
			must := len(p.RecordBatches) > 0 || a.err != 0 || a != cp.ans ||
				p.DivergingEpoch.Epoch >= 0 || p.PreferredReadReplica >= 0
			if !must {
				continue
			}
			cp.ans = a
			if len(p.RecordBatches) > 0 {
				withRecords = append(withRecords, cp)
			}
			parts = append(parts, *p)
		}
		if len(parts) > 0 {
			t.Partitions = parts
			topics = append(topics, t)
		}
	}
	resp.Topics = topics
	s.moveToEnd(withRecords)
}

// moveToEnd puts the partitions answered with records at the end of the
// session's order (Kafka's round robin for fairness under MaxBytes).
func (s *session) moveToEnd(moved []*cached) {
	if len(moved) == 0 {
		return
	}
	isMoved := make(map[*cached]bool, len(moved))
	for _, cp := range moved {
		if s.index[cp.key] == cp {
			isMoved[cp] = true
		}
	}
	kept := make([]*cached, 0, len(s.parts))
	for _, cp := range s.parts {
		if !isMoved[cp] {
			kept = append(kept, cp)
		}
	}
	for _, cp := range moved {
		if isMoved[cp] {
			kept = append(kept, cp)
		}
	}
	s.parts, s.read = kept, nil
}
