package survey

// Expected is the expected attendance (应到人数): unit id → category id →
// number of voters.
type Expected map[string]map[string]int
