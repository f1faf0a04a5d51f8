package broker

import (
	crand "crypto/rand"
	"encoding/binary"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/fetchsession"
	"github.com/weir-dev/weir/env"
)

// fetchSessions is the shell of the broker's fetch session cache
// (broker/fetchsession, KIP-227): one lock around the state machine, and
// the clock. The Fetch handler calls begin when a request arrives and
// finish once its answer is final.
//
// The cache's time is steady (env.SteadyClock: the clock's Monotonic
// time as a date), never the wall clock, as Kafka's sessions are timed on
// System.nanoTime: after a step of the wall clock back, a session's idle
// time would otherwise stay negative for the step (an idle session kept
// past min.incremental.fetch.session.eviction.ms) and sessions used since
// would look older than those used before it (the session just used
// evicted as the least recently used one).
type fetchSessions struct {
	time  env.SteadyClock
	mu    sync.Mutex
	cache *fetchsession.Cache
	// served counts the fetches served by kind and by who fetched
	// (followers: true), errors the session errors answered.
	served map[servedKey]int
	errors int
}

type servedKey struct {
	kind     fetchsession.Kind
	follower bool
}

// newFetchSessions seeds the cache's session ids from crypto/rand, which
// the simulator's guest draws from the run's seed; clock gives the cache's
// time.
func newFetchSessions(cfg Config, clock env.Clock) (*fetchSessions, error) {
	var seed [16]byte
	if _, err := crand.Read(seed[:]); err != nil {
		return nil, err
	}
	ids := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	slots := cfg.FetchSessionCacheSlots
	switch {
	case slots == 0:
		slots = DefaultFetchSessionCacheSlots
	case slots < 0:
		slots = 0
	}
	evict := cfg.FetchSessionEvictAfter
	if evict <= 0 {
		evict = DefaultFetchSessionEvictAfter
	}
	return &fetchSessions{
		time:   env.NewSteadyClock(clock),
		cache:  fetchsession.New(fetchsession.Config{Slots: slots, EvictAfter: evict}, ids),
		served: map[servedKey]int{},
	}, nil
}

func (s *fetchSessions) begin(r *kmsg.FetchRequest) fetchsession.Fetch {
	s.mu.Lock()
	defer s.mu.Unlock()
	follower := fetchReplicaID(r) >= 0
	f := s.cache.Begin(r, follower, s.time.Now())
	if f.Err != 0 {
		s.errors++
	} else {
		s.served[servedKey{f.Kind, follower}]++
	}
	return f
}

// count is how many fetches of kind were served to followers or to
// consumers.
func (s *fetchSessions) count(kind fetchsession.Kind, follower bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[servedKey{kind, follower}]
}

func (s *fetchSessions) finish(f *fetchsession.Fetch, resp *kmsg.FetchResponse) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cache.Finish(f, resp, s.time.Now())
}

// Kafka's defaults for the fetch session cache.
const (
	DefaultFetchSessionCacheSlots = 1000
	DefaultFetchSessionEvictAfter = 120 * time.Second
)
