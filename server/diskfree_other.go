//go:build !unix && !windows

package server

import "errors"

func freeDisk(string) (int64, error) { return 0, errors.New("not available on this system") }
