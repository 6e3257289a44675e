package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestPairedRatios(t *testing.T) {
	a := result{rates: []float64{90, 80, 120, 100}}
	b := result{rates: []float64{100, 100, 100, 100}}
	median, lo, hi := pairedRatios(a, b)
	if median != 0.95 || lo != 0.8 || hi != 1.2 {
		t.Errorf("pairedRatios = %v, %v, %v; want 0.95, 0.8, 1.2", median, lo, hi)
	}
	// Each round is divided by its own round: a drift that slows both
	// paths alike leaves the ratio alone.
	a = result{rates: []float64{50, 100, 200}}
	b = result{rates: []float64{100, 200, 400}}
	if median, lo, hi := pairedRatios(a, b); median != 0.5 || lo != 0.5 || hi != 0.5 {
		t.Errorf("pairedRatios under drift = %v, %v, %v; want 0.5 each", median, lo, hi)
	}
}

func TestResultAddKeepsEachRoundsRate(t *testing.T) {
	var total result
	total.add(result{calls: 100, elapsed: 1e9})
	total.add(result{calls: 300, elapsed: 2e9})
	if total.calls != 400 || len(total.rates) != 2 || total.rates[0] != 100 || total.rates[1] != 150 {
		t.Errorf("after two rounds: calls %d, rates %v; want 400 and [100 150]", total.calls, total.rates)
	}
}

func TestUpstreamAnswersEachCallWithItsOwnBody(t *testing.T) {
	upstream := httptest.NewServer(upstreamHandler(1600, false))
	defer upstream.Close()
	get := func(path string) []byte {
		t.Helper()
		resp, err := http.Get(upstream.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, body, err)
		}
		return body
	}
	ops := operations(1600)
	for _, n := range []uint64{0, 1, 2} {
		var integration struct{ Name string }
		if err := json.Unmarshal(get(ops["get"].restPath(n)), &integration); err != nil || integration.Name != integrationName(n) {
			t.Errorf("call %d of get: name %q (%v); want %q", n, integration.Name, err, integrationName(n))
		}
	}
	if bytes.Equal(get(ops["get"].restPath(1)), get(ops["get"].restPath(2))) {
		t.Error("two integrations got the same body")
	}

	upstream = httptest.NewServer(upstreamHandler(100_000, false))
	defer upstream.Close()
	var list []struct{ Name string }
	if err := json.Unmarshal(get(operations(100_000)["list"].restPath(7)), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) < 40 || list[0].Name != "project-7-0" || list[len(list)-1].Name != fmt.Sprintf("project-7-%d", len(list)-1) {
		t.Errorf("list of 100 KB: %d integrations, first %+v", len(list), list[0])
	}
}

func TestVaryChangesIdenticalBodies(t *testing.T) {
	upstream := httptest.NewServer(upstreamHandler(1600, true))
	defer upstream.Close()
	var bodies [2][]byte
	for i := range bodies {
		resp, err := http.Get(upstream.URL + "/v1/projects/my-project/integrations/read-accounts")
		if err != nil {
			t.Fatal(err)
		}
		bodies[i], _ = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	if bytes.Equal(bodies[0], bodies[1]) || !json.Valid(bodies[0]) || !json.Valid(bodies[1]) {
		t.Errorf("with vary, two identical calls got %d and %d bytes, equal or not JSON", len(bodies[0]), len(bodies[1]))
	}
}

func TestCallsNumbering(t *testing.T) {
	same := &calls{same: true}
	if same.next() != 0 || same.next() != 0 {
		t.Error("identical calls are not all call 0")
	}
	var distinct calls
	if a, b := distinct.next(), distinct.next(); a == 0 || a == b {
		t.Errorf("distinct calls numbered %d and %d", a, b)
	}
	if integrationName(0) != "read-accounts" || projectName(0) != "my-project" || integrationName(1) == integrationName(2) {
		t.Error("call numbers do not name the sample for call 0 and another thing for each other call")
	}
}
