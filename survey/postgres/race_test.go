//go:build race

package postgres

func init() { raceEnabled = true }
