package gen

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
)

// DefiniteFailure reports whether a produce error means the record was
// certainly not appended (a fail op). Anything else, timeouts and lost
// connections included, is an unknown outcome (an info op).
//
// The definite codes say the produce was refused for what the batch or the
// client's configuration is, before any append: every attempt of the same
// batch gets the same answer, so none can have been appended. All are
// non-retriable, so kgo returns them on the first answer. Retriable codes
// (NOT_LEADER_OR_FOLLOWER, CORRUPT_MESSAGE, UNKNOWN_TOPIC_OR_PARTITION, ...)
// and kgo's own ErrRecordTimeout and ErrRecordRetries are never definite:
// an earlier attempt of the batch may have been appended.
func DefiniteFailure(err error) bool {
	var ke *kerr.Error
	if !errors.As(err, &ke) || ke.Retriable {
		return false
	}
	switch ke.Code {
	case kerr.MessageTooLarge.Code,
		kerr.RecordListTooLarge.Code,
		kerr.InvalidRecord.Code,
		kerr.InvalidTopicException.Code,
		kerr.TopicAuthorizationFailed.Code,
		kerr.ClusterAuthorizationFailed.Code,
		kerr.UnsupportedForMessageFormat.Code,
		kerr.InvalidRequiredAcks.Code,
		kerr.InvalidTimestamp.Code,
		kerr.UnsupportedVersion.Code:
		return true
	}
	return false
}
