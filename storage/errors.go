package storage

import "errors"

// ErrQueueFull is returned by Writer.Enqueue when the bounded queue has no
// room for the spans. It is transient: the client should retry later.
var ErrQueueFull = errors.New("write queue is full")

// ErrStopped is returned by Writer.Enqueue once shutdown has begun.
var ErrStopped = errors.New("writer is shutting down")

// ErrNotFound is returned by reads for an unknown trace.
var ErrNotFound = errors.New("not found")
