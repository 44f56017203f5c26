package storage

import "testing"

func TestFitMemory(t *testing.T) {
	d := NewDefaultWriterConfig()
	if got := d.FitMemory(0); got != d {
		t.Errorf("no bound changed the config: %+v", got)
	}
	if got := d.FitMemory(4 << 30); got != d {
		t.Errorf("a 4 GiB bound changed the defaults: %+v", got)
	}
	got := d.FitMemory(256 << 20)
	if got.QueueSpans != 53687 || got.BatchSpans != 13421 || got.Validate() != nil {
		t.Errorf("256 MiB: %+v", got)
	}
	if got := d.FitMemory(64 << 20); got.BatchSpans > got.QueueSpans || got.Validate() != nil {
		t.Errorf("64 MiB: %+v", got)
	}
}
