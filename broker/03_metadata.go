package broker

// Metadata v0-12. v1 adds the controller and internal flags, v4 lets the
// client ask for auto-creation, v10 adds topic ids, v11 drops cluster
// authorized operations. A request with no topic list (null; v0: empty)
// means every topic. Internal topics (__consumer_offsets) are flagged, and
// never auto-created here: the broker creates them when it needs them.
//
// Everything comes from the metadata image this broker applied: the
// brokers that are registered and not fenced (this one always, since the
// client reached it), and every partition's leader, leader epoch, replicas
// and ISR, wherever they live. A partition with no leader is listed with
// LEADER_NOT_AVAILABLE and leader -1, so clients wait and ask again.

import (
	"context"
	"net"
	"slices"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
)

func init() { register(3, 0, 12, handleMetadata) }

func handleMetadata(ctx context.Context, b *Broker, req *request) (reply, error) {
	r := req.kreq.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	img := b.image()
	for _, br := range b.liveBrokers(img) {
		resp.Brokers = append(resp.Brokers, kmsg.MetadataResponseBroker{NodeID: br.id, Host: br.host, Port: br.port, Rack: br.rack})
	}
	clusterID := img.ClusterID()
	resp.ClusterID = &clusterID
	resp.ControllerID = b.controllerID(img)

	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if all {
		for _, t := range img.Topics() {
			resp.Topics = append(resp.Topics, topicMetadata(img, t))
		}
		return reply{resp: resp}, nil
	}
	autoCreate := b.cfg.AutoCreateTopics && (r.Version < 4 || r.AllowAutoTopicCreation)
	for _, rt := range r.Topics {
		var t *metadata.Topic
		var ok bool
		switch {
		case rt.Topic != nil:
			t, ok = img.Topic(*rt.Topic)
			// Internal topics are the broker's to create, never a client's.
			if !ok && autoCreate && validateTopicName(*rt.Topic) == nil && !isInternalTopic(*rt.Topic) {
				var code int16
				t, code = b.autoCreateTopic(ctx, *rt.Topic)
				ok = code == 0
				if code != 0 {
					rtopic := kmsg.NewMetadataResponseTopic()
					rtopic.Topic = rt.Topic
					rtopic.ErrorCode = code
					resp.Topics = append(resp.Topics, rtopic)
					continue
				}
			}
		default:
			t, ok = img.TopicByID(metadata.TopicID(rt.TopicID))
		}
		if !ok {
			rtopic := kmsg.NewMetadataResponseTopic()
			rtopic.Topic = rt.Topic
			rtopic.TopicID = rt.TopicID
			rtopic.ErrorCode = kerr.UnknownTopicOrPartition.Code
			if rt.Topic != nil && validateTopicName(*rt.Topic) != nil {
				rtopic.ErrorCode = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, rtopic)
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(b.image(), t))
	}
	return reply{resp: resp}, nil
}

// topicMetadata describes one topic of img.
func topicMetadata(img *metadata.Image, t *metadata.Topic) kmsg.MetadataResponseTopic {
	rt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	rt.Topic = &name
	rt.TopicID = [16]byte(t.ID)
	rt.IsInternal = isInternalTopic(t.Name)
	for i, pi := range t.Partitions {
		rp := kmsg.NewMetadataResponseTopicPartition()
		rp.Partition = int32(i)
		rp.Leader = pi.Leader
		rp.LeaderEpoch = pi.LeaderEpoch
		rp.Replicas = pi.Replicas
		rp.ISR = pi.ISR
		for _, id := range pi.Replicas {
			if br, ok := img.Broker(id); !ok || br.Fenced {
				rp.OfflineReplicas = append(rp.OfflineReplicas, id)
			}
		}
		if !pi.HasLeader() {
			rp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		rt.Partitions = append(rt.Partitions, rp)
	}
	return rt
}

// liveBroker is a broker as Metadata and DescribeCluster list it.
type liveBroker struct {
	id   int32
	host string
	port int32
	rack *string
}

// liveBrokers lists the registered brokers that are not fenced, sorted by
// id, and this broker itself even before its registration shows: the
// client reached it.
func (b *Broker) liveBrokers(img *metadata.Image) []liveBroker {
	var out []liveBroker
	self := false
	for _, br := range img.Brokers() {
		if br.ID != b.cfg.NodeID && br.Fenced {
			continue
		}
		lb := liveBroker{id: br.ID}
		if br.ID == b.cfg.NodeID {
			self = true
			lb.host, lb.port = b.hostPort()
		} else if len(br.Listeners) > 0 {
			lb.host, lb.port = br.Listeners[0].Host, int32(br.Listeners[0].Port)
		} else {
			continue
		}
		if br.Rack != "" {
			rack := br.Rack
			lb.rack = &rack
		}
		out = append(out, lb)
	}
	if !self {
		host, port := b.hostPort()
		lb := liveBroker{id: b.cfg.NodeID, host: host, port: port}
		if b.cfg.Rack != "" {
			rack := b.cfg.Rack
			lb.rack = &rack
		}
		out = append(out, lb)
		slices.SortFunc(out, func(a, c liveBroker) int { return int(a.id) - int(c.id) })
	}
	return out
}

// controllerID is what Metadata and DescribeCluster name as controller.
// Any broker forwards admin requests to the quorum's leader, as KRaft
// brokers do, so this is the quorum's leader when it is a live broker,
// else this broker.
func (b *Broker) controllerID(img *metadata.Image) int32 {
	leader := b.quorum.Status().Leader
	if br, ok := img.Broker(leader); ok && !br.Fenced {
		return leader
	}
	return b.cfg.NodeID
}

// hostPort splits the advertised address for Metadata.
func (b *Broker) hostPort() (string, int32) {
	host, portStr, err := net.SplitHostPort(b.Addr())
	if err != nil {
		return b.Addr(), 9092
	}
	port, _ := strconv.Atoi(portStr)
	return host, int32(port)
}
