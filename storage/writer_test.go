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
	got := d.FitMemory(512 << 20)
	if got.QueueSpans != 42949 || got.BatchSpans != 10737 || got.Validate() != nil {
		t.Errorf("512 MiB: %+v", got)
	}
	if got := d.FitMemory(64 << 20); got.BatchSpans > got.QueueSpans || got.Validate() != nil {
		t.Errorf("64 MiB: %+v", got)
	}
}
