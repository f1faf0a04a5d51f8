package registry

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/weir-dev/weir/workloads/clickstream"
	"github.com/weir-dev/weir/workloads/payments"
	"github.com/weir-dev/weir/workloads/vitals"
)

// Every field of each workload's Config.Defects has exactly one catalog
// entry: a defect added to a workload and forgotten here fails.
func TestDefectCatalogCoversConfigDefects(t *testing.T) {
	for workload, defects := range map[string]any{
		"clickstream": clickstream.Defects{}, "payments": payments.Defects{}, "vitals": vitals.Defects{},
	} {
		var want []string
		typ := reflect.TypeOf(defects)
		for i := range typ.NumField() {
			want = append(want, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
		}
		var got []string
		for _, d := range DefectCatalog() {
			if d.Workload == workload {
				got = append(got, d.Field)
			}
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s: catalog fields %v, Config.Defects fields %v", workload, got, want)
		}
	}
}

// Planting a defect in drawn parameters switches on its field, and only
// it, and the workload still builds from them.
func TestPlantDefect(t *testing.T) {
	for _, d := range DefectCatalog() {
		if !strings.HasPrefix(d.Name, d.Workload+"/") || !IsWorkloadDefect(d.Name) || len(d.CaughtBy) == 0 {
			t.Errorf("%+v: malformed", d)
		}
		e, err := Lookup(d.Workload)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := e.Draw(rand.New(rand.NewPCG(1, 2)), Cluster{ReplicationFactor: 3, Duration: 10 * time.Second, Simulated: true})
		if err != nil {
			t.Fatal(err)
		}
		planted, err := PlantDefect(raw, d)
		if err != nil {
			t.Fatalf("%s: %v", d.Name, err)
		}
		if _, err := e.Build(planted, Env{}); err != nil {
			t.Errorf("%s: planted parameters do not build: %v", d.Name, err)
		}
		var p struct {
			Defects map[string]bool `json:"defects"`
		}
		if err := json.Unmarshal(planted, &p); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(p.Defects, map[string]bool{d.Field: true}) {
			t.Errorf("%s: planted defects %v", d.Name, p.Defects)
		}
	}
	if _, ok := LookupDefect("early-high-watermark"); ok || IsWorkloadDefect("early-high-watermark") {
		t.Error("a broker defect is taken for a workload defect")
	}
	if _, err := PlantDefect(json.RawMessage(`{"defects":{"nope":true}}`), Defect{Name: "x/y", Field: "no_transaction"}); err != nil {
		t.Errorf("PlantDefect keeps unknown fields for Build to refuse: %v", err)
	}
	e, _ := Lookup("payments")
	raw, _ := e.Draw(rand.New(rand.NewPCG(1, 2)), Cluster{ReplicationFactor: 3, Duration: 10 * time.Second, Simulated: true})
	bad, _ := PlantDefect(raw, Defect{Name: "payments/typo", Field: "no_transactoin"})
	if _, err := e.Build(bad, Env{}); err == nil || !strings.Contains(err.Error(), "no_transactoin") {
		t.Errorf("a misspelled defect field builds: %v", err)
	}
}
