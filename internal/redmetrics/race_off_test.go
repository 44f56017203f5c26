//go:build !race

package redmetrics

const raceEnabled = false
