//go:build windows

package server

import "golang.org/x/sys/windows"

// freeDisk is the space the caller has left on the volume holding dir.
func freeDisk(dir string) (int64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var free, total, all uint64
	if err := windows.GetDiskFreeSpaceEx(p, &free, &total, &all); err != nil {
		return 0, err
	}
	return int64(free), nil
}
