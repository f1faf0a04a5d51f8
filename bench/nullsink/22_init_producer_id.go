package nullsink

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId v0-v5.
//
// v2 is flexible; v3 adds the current producer ID and epoch (KIP-360, epoch
// bump on an existing ID). The sink keeps no producer state: every request
// gets a new ID from an increasing counter (1, 2, ...) and epoch 0, which is
// valid for idempotent and transactional producers alike since nothing is
// checked against it.

func (c *conn) initProducerID(version int16, corr int32, body []byte) error {
	req := kmsg.NewPtrInitProducerIDRequest()
	req.Version = version
	if err := req.ReadFrom(body); err != nil {
		return fmt.Errorf("InitProducerId v%d: %w", version, err)
	}
	resp := kmsg.NewPtrInitProducerIDResponse()
	resp.Version = version
	resp.ProducerID = c.s.nextProducerID.Add(1)
	resp.ProducerEpoch = 0
	c.appendResponse(corr, resp)
	return nil
}
