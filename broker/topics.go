package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/weir-dev/weir/broker/metadata"
	"github.com/weir-dev/weir/broker/quorum"
)

// Admin requests that change metadata (CreateTopics, DeleteTopics,
// CreatePartitions, AlterConfigs, IncrementalAlterConfigs) are decided by
// the controller: any broker hands them to the metadata quorum, which
// forwards them to its leader, as a KRaft broker forwards them to the
// active controller. The answer comes once the change is committed; the
// broker then waits (bounded) until its reconciler shows the change, so
// the client's next request to this broker sees it.

// topicError is a Kafka error with the message the admin APIs return.
type topicError struct {
	err *kerr.Error
	msg string
}

func (e *topicError) Error() string { return e.msg }

func errTopic(err *kerr.Error, format string, args ...any) *topicError {
	return &topicError{err: err, msg: fmt.Sprintf(format, args...)}
}

// maxTopicPartitions bounds one topic's partitions. Each partition holds
// open files and a goroutine; without a bound, one small CreateTopics
// request could ask for two billion of them.
const maxTopicPartitions = 10000

// defaultAdminTimeout bounds an admin request that names no timeout.
const defaultAdminTimeout = 30 * time.Second

// adminContext bounds an admin request by its timeout_ms (Kafka's meaning:
// how long to wait for the change), or defaultAdminTimeout.
func adminContext(ctx context.Context, timeoutMs int32) (context.Context, context.CancelFunc) {
	d := defaultAdminTimeout
	if timeoutMs > 0 {
		d = time.Duration(timeoutMs) * time.Millisecond
	}
	return context.WithTimeout(ctx, d)
}

// submit hands a request to the controller and returns its answer, or the
// error to give the client for every resource of the request.
func (b *Broker) submit(ctx context.Context, req kmsg.Request) (kmsg.Response, *topicError) {
	resp, err := b.quorum.Submit(ctx, detach(req))
	switch {
	case err == nil:
		return resp, nil
	case errors.Is(err, quorum.ErrUnavailable):
		return nil, errTopic(kerr.RequestTimedOut, "the metadata quorum has no leader with a majority of its voters; metadata cannot change until it has one")
	case errors.Is(err, quorum.ErrLeadershipLost), errors.Is(err, quorum.ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return nil, errTopic(kerr.RequestTimedOut, "the controller did not confirm the change in time; it may or may not have been applied: %v", err)
	default:
		return nil, errTopic(kerr.UnknownServerError, "metadata quorum: %v", err)
	}
}

// detach returns a copy of req that shares no memory with the connection's
// request buffer: the quorum may hold the request after the handler
// returned (a timed-out proposal) and the buffer is reused.
func detach(req kmsg.Request) kmsg.Request {
	raw := req.AppendTo(nil)
	cp := kmsg.RequestForKey(req.Key())
	cp.SetVersion(req.GetVersion())
	if err := cp.ReadFrom(raw); err != nil {
		// Encoding then decoding what kmsg decoded cannot fail.
		panic(fmt.Sprintf("broker: re-decoding %s: %v", kmsg.NameForKey(req.Key()), err))
	}
	return cp
}

// autoCreateTopic creates a topic a client asked for in Metadata, as
// auto.create.topics.enable does, and returns it once this broker has it.
// A concurrent creation is not an error.
func (b *Broker) autoCreateTopic(ctx context.Context, name string) (*metadata.Topic, int16) {
	ctx, cancel := adminContext(ctx, 0)
	defer cancel()
	req := kmsg.NewPtrCreateTopicsRequest()
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, -1, -1
	req.Topics = append(req.Topics, rt)
	req.SetVersion(4)
	b.awaitActive(ctx)
	resp, terr := b.submit(ctx, req)
	if terr != nil {
		return nil, terr.err.Code
	}
	st := resp.(*kmsg.CreateTopicsResponse).Topics
	if len(st) != 1 || (st[0].ErrorCode != 0 && st[0].ErrorCode != kerr.TopicAlreadyExists.Code) {
		if len(st) == 1 {
			return nil, st[0].ErrorCode
		}
		return nil, kerr.UnknownServerError.Code
	}
	var t *metadata.Topic
	if !b.waitApplied(ctx, func(img *metadata.Image) bool { t, _ = img.Topic(name); return t != nil }) {
		return nil, kerr.LeaderNotAvailable.Code
	}
	return t, 0
}
