package nullsink

import (
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiRange is one served API: its key, the versions served and the first
// flexible version (KIP-482), which decides the request header version
// (v2 from then on) and the response header version (v1, except ApiVersions).
type apiRange struct {
	key      kmsg.Key
	min, max int16
	flexFrom int16
}

// served is the supported-API table, one entry per file NN_name.go.
// ApiVersions advertises exactly this; TestServedTable checks flexFrom
// against kmsg and max against kmsg's newest version.
var served = [...]apiRange{
	{key: kmsg.Produce, min: 3, max: 13, flexFrom: 9},
	{key: kmsg.Metadata, min: 0, max: 13, flexFrom: 9},
	{key: kmsg.ApiVersions, min: 0, max: 4, flexFrom: 3},
	{key: kmsg.InitProducerID, min: 0, max: 5, flexFrom: 2},
}

func lookupAPI(key int16) *apiRange {
	for i := range served {
		if served[i].key.Int16() == key {
			return &served[i]
		}
	}
	return nil
}

func (a *apiRange) flexible(version int16) bool { return version >= a.flexFrom }

// dispatch hands a decoded header's body to the handler of its key. Only
// keys in served reach it.
func (c *conn) dispatch(key kmsg.Key, version int16, corr int32, body []byte) error {
	switch key {
	case kmsg.Produce:
		return c.produce(version, corr, body)
	case kmsg.Metadata:
		return c.metadata(version, corr, body)
	case kmsg.ApiVersions:
		return c.apiVersions(version, corr, body)
	case kmsg.InitProducerID:
		return c.initProducerID(version, corr, body)
	}
	return fmt.Errorf("no handler for served API key %d", key)
}
