package bench

// The bench's own copies of the public API's JSON (CONTRACT §4), holding
// only the fields it reads or sends: it speaks to minping as any client does.

// ballotJSON is GET /api/v1/ballots/CODE.
type ballotJSON struct {
	Forms []struct {
		ID       string   `json:"id"`
		Items    []string `json:"items"`
		Overall  string   `json:"overall"`
		Options  []string `json:"options"`
		Abstain  string   `json:"abstain"`
		TopLimit int      `json:"top_limit"`
		Subjects []struct {
			ID string `json:"id"`
		} `json:"subjects"`
	} `json:"forms"`
}

// answerJSON is one answer of a ballot, by the names the voter saw.
type answerJSON struct {
	Form    string `json:"form"`
	Subject string `json:"subject"`
	Item    string `json:"item"`
	Option  string `json:"option"`
}

// submitJSON is the body of POST /api/v1/ballots/CODE.
type submitJSON struct {
	Answers []answerJSON `json:"answers"`
}

// batchJSON is the body of POST /api/v1/rounds/ID/batches.
type batchJSON struct {
	Unit     string `json:"unit"`
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// turnoutJSON is GET /api/v1/rounds/ID/turnout.
type turnoutJSON struct {
	Units []struct {
		Voted int `json:"voted"`
	} `json:"units"`
}
