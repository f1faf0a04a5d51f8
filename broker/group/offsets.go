package group

import (
	"sort"
	"strings"
	"unicode/utf16"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// offsetCommit is a committed offset.
type offsetCommit struct {
	offset      int64
	leaderEpoch int32 // -1: unknown
	metadata    string
	commitMs    int64
	expireMs    int64 // -1: the retention config decides (v2-4 could set it)
	// logOffset is where the commit's record is in the log (for a loaded
	// one, its replay position): a transactional commit that completes
	// replaces a commit only if it was written after it, as in Kafka.
	logOffset int64
}

// Commit handles an OffsetCommit request (v0-10) whose topics are named:
// the shell resolves v10's topic ids, and answers unknown topics and
// partitions itself (UNKNOWN_TOPIC_OR_PARTITION) before they reach the
// coordinator, as Kafka's request layer does. The answer waits for the
// commit records to be durable.
func (s *Shard) Commit(nowMs int64, req *kmsg.OffsetCommitRequest, w Waiter) Output {
	if code := s.unavailable(); code != 0 {
		return refuse(w, commitResponse(req, code))
	}
	s.begin(nowMs)
	s.reply(w, s.commit(req))
	return s.end()
}

func (s *Shard) commit(req *kmsg.OffsetCommitRequest) *kmsg.OffsetCommitResponse {
	if req.Group == "" {
		return commitResponse(req, kerr.InvalidGroupID.Code)
	}
	g := s.groups[req.Group]
	created := false
	if g == nil {
		switch {
		case req.Generation < 0:
			// A consumer that assigns itself partitions (or an admin)
			// stores offsets under a group with no members: a "simple"
			// group.
			g = newGroup(strings.Clone(req.Group), s.now)
			s.groups[g.id] = g
			created = true
		case req.Version >= 9:
			return commitResponse(req, kerr.GroupIDNotFound.Code)
		default:
			return commitResponse(req, kerr.IllegalGeneration.Code)
		}
	}
	code := int16(0)
	memberID := s.staticAlias(g, req.MemberID)
	if g.cg != nil {
		code = g.cg.validateCommit(memberID, req.Generation, req.Version, false)
	} else {
		code = g.validateOffsetCommit(memberID, req.InstanceID, req.Generation, false)
	}
	if code == kerr.IllegalGeneration.Code && s.cfg.Defects.AcceptStaleGeneration {
		code = 0 // DEFECT: a member of an older generation commits
	}
	if code == kerr.StaleMemberEpoch.Code && s.cfg.Defects.AcceptStaleMemberEpoch {
		code = 0 // DEFECT: a consumer-protocol member commits at an epoch it no longer has
	}
	if code != 0 {
		return commitResponse(req, code)
	}
	if m := g.byID[memberID]; m != nil && (g.is(Stable) || g.is(PreparingRebalance)) {
		// A classic member's commits keep its session alive.
		s.rescheduleSession(g, m, int64(m.sessionTimeoutMs))
	}
	expireMs := int64(-1)
	if req.Version >= 2 && req.Version <= 4 && req.RetentionTimeMillis != -1 {
		expireMs = s.now + req.RetentionTimeMillis
	}
	resp := commitResponse(req, 0)
	committed := 0
	for i, t := range req.Topics {
		for j, p := range t.Partitions {
			md := ""
			if p.Metadata != nil {
				md = *p.Metadata
			}
			if utf16Len(md) > int(s.cfg.OffsetMetadataMaxBytes) {
				resp.Topics[i].Partitions[j].ErrorCode = kerr.OffsetMetadataTooLarge.Code
				continue
			}
			epoch := int32(-1)
			if req.Version >= 6 {
				epoch = p.LeaderEpoch
			}
			oc := &offsetCommit{offset: p.Offset, leaderEpoch: epoch, metadata: strings.Clone(md), commitMs: s.now, expireMs: expireMs}
			topic := strings.Clone(t.Topic)
			g.setOffset(topic, p.Partition, oc)
			s.emitCommit(s.offsetCommitRecord(g.id, topic, p.Partition, oc), oc)
			committed++
		}
	}
	if created && committed == 0 {
		delete(s.groups, g.id)
	}
	return resp
}

// validateOffsetCommit is Kafka's ClassicGroup.validateOffsetCommit. A
// transactional commit (TxnOffsetCommit) may come without a member from a
// group that has members (older producers send none) and during
// CompletingRebalance.
func (g *group) validateOffsetCommit(memberID string, instanceID *string, generation int32, transactional bool) int16 {
	if generation < 0 && g.is(Empty) {
		// An admin or a consumer without group management.
		return 0
	}
	if generation >= 0 || memberID != "" || instanceID != nil {
		if code := g.validateMember(memberID, instanceID); code != 0 {
			return code
		}
		if generation != g.generation {
			return kerr.IllegalGeneration.Code
		}
	} else if !g.is(Empty) && !transactional {
		// Without a member id and generation, offsets of a group that has
		// members are theirs alone to commit.
		return kerr.UnknownMemberID.Code
	}
	if g.is(CompletingRebalance) && !transactional {
		// The member knows the new generation but not its assignment yet.
		return kerr.RebalanceInProgress.Code
	}
	return 0
}

// utf16Len is a string's length as Java counts it (offset.metadata.max.bytes
// is compared with String.length()).
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func (g *group) setOffset(topic string, partition int32, oc *offsetCommit) {
	ps := g.offsets[topic]
	if ps == nil {
		ps = map[int32]*offsetCommit{}
		g.offsets[topic] = ps
	}
	ps[partition] = oc
}

func (g *group) deleteOffset(topic string, partition int32) bool {
	ps := g.offsets[topic]
	if _, ok := ps[partition]; !ok {
		return false
	}
	delete(ps, partition)
	if len(ps) == 0 {
		delete(g.offsets, topic)
	}
	return true
}

func (g *group) offsetCount() int {
	n := 0
	for _, ps := range g.offsets {
		n += len(ps)
	}
	return n
}

func commitResponse(req *kmsg.OffsetCommitRequest, code int16) *kmsg.OffsetCommitResponse {
	resp := req.ResponseKind().(*kmsg.OffsetCommitResponse)
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic, rt.TopicID = strings.Clone(t.Topic), t.TopicID
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, code
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return resp
}

// FetchOffsets handles an OffsetFetch request in its v8+ shape (Groups;
// the shell converts older versions and resolves topic ids). Every group
// named must belong to this shard. A null topic list asks for every
// committed offset of the group. The answer is an OffsetFetchResponse with
// Groups in request order.
func (s *Shard) FetchOffsets(nowMs int64, req *kmsg.OffsetFetchRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.OffsetFetchResponse)
	if code := s.unavailable(); code != 0 {
		for _, rg := range req.Groups {
			g := kmsg.NewOffsetFetchResponseGroup()
			g.Group, g.ErrorCode = strings.Clone(rg.Group), code
			resp.Groups = append(resp.Groups, g)
		}
		return refuse(w, resp)
	}
	s.begin(nowMs)
	for _, rg := range req.Groups {
		fetched := s.fetchOffsets(rg, req.RequireStable)
		if s.cfg.Defects.FetchTopicMax {
			s.fetchTopicMax(&fetched)
		}
		resp.Groups = append(resp.Groups, fetched)
	}
	s.reply(w, resp)
	return s.end()
}

// With requireStable (KIP-447), a partition with offsets committed in a
// transaction that has not ended answers UNSTABLE_OFFSET_COMMIT: a
// consumer taking over must not start from an offset about to change.
func (s *Shard) fetchOffsets(rg kmsg.OffsetFetchRequestGroup, requireStable bool) kmsg.OffsetFetchResponseGroup {
	out := kmsg.NewOffsetFetchResponseGroup()
	out.Group = strings.Clone(rg.Group)
	if rg.Group == "" {
		out.ErrorCode = kerr.InvalidGroupID.Code
		return out
	}
	g := s.groups[rg.Group]
	if g != nil && g.cg != nil {
		if out.ErrorCode = g.cg.validateFetch(rg.MemberID, rg.MemberEpoch); out.ErrorCode != 0 {
			return out
		}
	}
	unstable := func(topic string, p int32) bool { return false }
	if requireStable {
		unstable = func(topic string, p int32) bool { return s.hasPendingTxnOffset(rg.Group, topic, p) }
	}
	if rg.Topics == nil {
		if g == nil {
			return out
		}
		for _, t := range g.sortedTopics() {
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = t
			for _, p := range sortedPartitions(g.offsets[t]) {
				rp := fetchedOffset(p, g.offsets[t][p])
				if unstable(t, p) {
					rp.ErrorCode = kerr.UnstableOffsetCommit.Code
				}
				rt.Partitions = append(rt.Partitions, rp)
			}
			out.Topics = append(out.Topics, rt)
		}
		return out
	}
	for _, t := range rg.Topics {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic, rt.TopicID = strings.Clone(t.Topic), t.TopicID
		for _, p := range t.Partitions {
			var oc *offsetCommit
			if g != nil {
				oc = g.offsets[t.Topic][p]
			}
			rp := fetchedOffset(p, oc)
			if unstable(t.Topic, p) {
				rp.ErrorCode = kerr.UnstableOffsetCommit.Code
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		out.Topics = append(out.Topics, rt)
	}
	return out
}

func fetchedOffset(p int32, oc *offsetCommit) kmsg.OffsetFetchResponseGroupTopicPartition {
	rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
	rp.Partition = p
	rp.Offset, rp.LeaderEpoch = -1, -1
	md := ""
	if oc != nil {
		rp.Offset, rp.LeaderEpoch, md = oc.offset, oc.leaderEpoch, oc.metadata
	}
	rp.Metadata = &md
	return rp
}

func (g *group) sortedTopics() []string {
	topics := make([]string, 0, len(g.offsets))
	for t := range g.offsets {
		topics = append(topics, t)
	}
	sort.Strings(topics)
	return topics
}

func sortedPartitions(ps map[int32]*offsetCommit) []int32 {
	out := make([]int32, 0, len(ps))
	for p := range ps {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// DeleteOffsets handles an OffsetDelete request (v0): only offsets of an
// empty group, or of topics a consumer group no longer subscribes to, can
// go. The shell answers unknown topics itself, as for Commit.
func (s *Shard) DeleteOffsets(nowMs int64, req *kmsg.OffsetDeleteRequest, w Waiter) Output {
	resp := req.ResponseKind().(*kmsg.OffsetDeleteResponse)
	if code := s.unavailable(); code != 0 {
		resp.ErrorCode = code
		return refuse(w, resp)
	}
	s.begin(nowMs)
	s.deleteOffsets(req, resp)
	s.reply(w, resp)
	return s.end()
}

func (s *Shard) deleteOffsets(req *kmsg.OffsetDeleteRequest, resp *kmsg.OffsetDeleteResponse) {
	if req.Group == "" {
		resp.ErrorCode = kerr.InvalidGroupID.Code
		return
	}
	g := s.groups[req.Group]
	switch {
	case g == nil:
		resp.ErrorCode = kerr.GroupIDNotFound.Code
		return
	case !g.is(Empty) && g.protocolType != consumerProtocolType:
		resp.ErrorCode = kerr.NonEmptyGroup.Code
		return
	}
	for _, t := range req.Topics {
		rt := kmsg.NewOffsetDeleteResponseTopic()
		rt.Topic = strings.Clone(t.Topic)
		subscribed := g.isSubscribedTo(t.Topic)
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetDeleteResponseTopicPartition()
			rp.Partition = p.Partition
			if subscribed {
				rp.ErrorCode = kerr.GroupSubscribedToTopic.Code
			} else if g.deleteOffset(t.Topic, p.Partition) {
				s.emit(offsetTombstone(g.id, t.Topic, p.Partition))
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
}

// expireOffsets is offsets.retention.minutes: it removes the offsets whose
// retention has passed and then the empty groups left with none (Kafka's
// cleanupGroupMetadata).
func (s *Shard) expireOffsets() {
	for _, id := range s.sortedGroupIDs() {
		g := s.groups[id]
		if s.expireGroupOffsets(g) && g.isEmpty() && !s.hasPendingTxn(id) {
			s.deleteGroup(g)
		}
	}
}

// expireGroupOffsets removes the group's expired offsets and reports
// whether none are left.
func (s *Shard) expireGroupOffsets(g *group) bool {
	if len(g.offsets) == 0 {
		return true
	}
	// What retention counts from: the time an empty group became empty;
	// the commit time for groups without a protocol and for the topics a
	// stable consumer group no longer reads. Otherwise nothing expires.
	var since func(oc *offsetCommit) int64
	switch {
	case g.cg != nil:
		// Kafka's consumer groups count from the commit, for the topics
		// no member subscribes to.
		since = func(oc *offsetCommit) int64 { return oc.commitMs }
	case g.protocolType == "":
		since = func(oc *offsetCommit) int64 { return oc.commitMs }
	case g.is(Empty):
		since = func(*offsetCommit) int64 { return g.stateSinceMs }
	case g.protocolType == consumerProtocolType && g.subscribedKnown && g.is(Stable):
		since = func(oc *offsetCommit) int64 { return oc.commitMs }
	default:
		return false
	}
	all := true
	for _, t := range g.sortedTopics() {
		if g.isSubscribedTo(t) {
			all = false
			continue
		}
		for _, p := range sortedPartitions(g.offsets[t]) {
			oc := g.offsets[t][p]
			expired := s.now-since(oc) >= s.cfg.OffsetsRetentionMs
			if oc.expireMs >= 0 {
				expired = s.now >= oc.expireMs
			}
			if !expired {
				all = false
				continue
			}
			g.deleteOffset(t, p)
			s.emit(offsetTombstone(g.id, t, p))
		}
	}
	return all
}
