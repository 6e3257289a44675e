package main

import "testing"

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
