package tally

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestAddRejects(t *testing.T) {
	def := parseDef(t, membersDef) // a ballot of category a in u1 has 7 answers
	noAbstain := parseDef(t, rankDef)
	tests := []struct {
		name           string
		def            string
		unit, category string
		answers        []byte
		want           string
	}{
		{"unknown unit", membersDef, "u9", "a", make([]byte, 7), `unknown unit "u9"`},
		{"unknown category", membersDef, "u1", "z", make([]byte, 7), `unknown category "z"`},
		{"too short", membersDef, "u1", "a", make([]byte, 6), "has 6 answers, its layout 7"},
		{"too long", membersDef, "u1", "a", make([]byte, 8), "has 8 answers, its layout 7"},
		{"option out of range", membersDef, "u1", "a", []byte{0, 0, 0, 0, 0, 4, 0}, "answer 5"},
		{"abstain where the scale has none", rankDef, "u1", "a", []byte{0xFF}, "answer 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := def
			if tt.def == rankDef {
				d = noAbstain
			}
			c := NewCounter(d)
			before := slices.Clone(c.counts)
			err := c.Add(tt.unit, tt.category, tt.answers)
			if !errors.Is(err, ErrInvalidBallot) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got error %v, want ErrInvalidBallot saying %q", err, tt.want)
			}
			if !slices.Equal(before, c.counts) || c.Ballots() != 0 {
				t.Errorf("a rejected ballot changed the counts")
			}
		})
	}
}

// A ballot rejected part way leaves the documents as if it never came.
func TestRejectedBallotLeavesNoTrace(t *testing.T) {
	def := parseDef(t, membersDef)
	good := vote{"u1", "a", "A" + "ABC" + "-DA"}
	ref := count(t, def, []vote{good}, nil)

	c := NewCounter(def)
	if err := c.Add("u1", "a", []byte{0, 1, 2, 3, 0, 9, 0}); err == nil {
		t.Fatal("got no error for option 9, want one")
	}
	if err := c.Add(good.unit, good.cat, good.bytes()); err != nil {
		t.Fatal(err)
	}
	docs, err := c.Documents(Turnout{"u1": {"a": {1, 1}}}, Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ref.Round, docs.Round) {
		t.Errorf("documents differ after a rejected ballot")
	}
}

func TestDocumentsRejectsInconsistentTurnout(t *testing.T) {
	def := parseDef(t, basicDef)
	tests := []struct {
		name    string
		turnout Turnout
		want    string
	}{
		{"unknown unit", Turnout{"u1": {"a": {1, 1}}, "u9": {}}, `unknown unit "u9"`},
		{"unknown category", Turnout{"u1": {"a": {1, 1}, "z": {1, 0}}}, `unknown category "z"`},
		{"more used than issued", Turnout{"u1": {"a": {0, 1}}}, "1 codes used of 0 issued"},
		{"used codes without ballots", Turnout{"u1": {"a": {2, 2}}}, "2 codes used but 1 ballots counted"},
		{"ballots without used codes", Turnout{}, "0 codes used but 1 ballots counted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewCounter(def)
			if err := c.Add("u1", "a", []byte{0, 0}); err != nil {
				t.Fatal(err)
			}
			_, err := c.Documents(tt.turnout, Meta{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// The digest is computed as documented: SHA-256 over the ballots' hashes in
// ascending order, each hash over unit 0x00 category 0x00 answers.
func TestBallotsDigest(t *testing.T) {
	def := parseDef(t, basicDef+"  - {id: u2, name: 单位二, type: T}\nrules: {min_group: 1}\n")
	ballots := []vote{{"u1", "a", "AB"}, {"u1", "b", "-A"}, {"u1", "a", "AB"}, {"u2", "a", "CD"}}
	docs := count(t, def, ballots, nil)

	digest := func(vs []vote) string {
		var hs [][]byte
		for _, v := range vs {
			h := sha256.Sum256([]byte(v.unit + "\x00" + v.cat + "\x00" + string(v.bytes())))
			hs = append(hs, h[:])
		}
		slices.SortFunc(hs, bytes.Compare)
		sum := sha256.Sum256(bytes.Join(hs, nil))
		return hex.EncodeToString(sum[:])
	}
	if got, want := docs.Result.BallotsSHA256, digest(ballots); got != want {
		t.Errorf("round digest: got %s, want %s", got, want)
	}
	if got, want := unitByID(t, docs, "u1").BallotsSHA256, digest(ballots[:3]); got != want {
		t.Errorf("u1 digest: got %s, want %s", got, want)
	}
	if got, want := unitByID(t, docs, "u2").BallotsSHA256, digest(ballots[3:]); got != want {
		t.Errorf("u2 digest: got %s, want %s", got, want)
	}
	empty := count(t, def, nil, Turnout{})
	if got, want := empty.Result.BallotsSHA256, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"; got != want {
		t.Errorf("digest of no ballots: got %s, want %s", got, want)
	}
}

// Many ballots exercise the bucketed sort: it must equal a plain sort.
func TestSortHashes(t *testing.T) {
	var chunks [][]ballotHash
	var flat []ballotHash
	for i := range 3*hashChunk + 5 {
		if i%hashChunk == 0 {
			chunks = append(chunks, nil)
		}
		h := ballotHash{h: sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16)}), unit: uint32(i % 3)}
		if i%1000 == 0 {
			h.h[0], h.h[1] = 0, 0 // crowd one bucket
		}
		chunks[len(chunks)-1] = append(chunks[len(chunks)-1], h)
		flat = append(flat, h)
	}
	got := sortHashes(chunks, len(flat))
	slices.SortStableFunc(flat, compareHash)
	for i := range flat {
		if flat[i].h != got[i].h {
			t.Fatalf("entry %d: got %x, want %x", i, got[i].h[:4], flat[i].h[:4])
		}
	}
}

func TestSignVerify(t *testing.T) {
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	pub := base64.StdEncoding.EncodeToString(priv.Public().(ed25519.PublicKey))
	doc := []byte(`{"score":87.30}` + "\n")
	sig := Sign(priv, doc)
	if raw, err := base64.StdEncoding.DecodeString(sig); err != nil || len(raw) != 64 {
		t.Fatalf("signature: got %q (%v), want standard base64 of 64 bytes", sig, err)
	}
	otherKey := base64.StdEncoding.EncodeToString(ed25519.NewKeyFromSeed(make([]byte, 32)).Public().(ed25519.PublicKey))
	tests := []struct {
		name     string
		pub      string
		doc      []byte
		sig      string
		wantErr  error
		wantText string
	}{
		{"valid", pub, doc, sig, nil, ""},
		{"valid with newlines around", pub + "\n", doc, sig + "\n", nil, ""},
		{"altered document", pub, []byte(`{"score":87.31}` + "\n"), sig, ErrBadSignature, ""},
		{"other key", otherKey, doc, sig, ErrBadSignature, ""},
		{"key not base64", "***", doc, sig, nil, "public key"},
		{"short key", base64.StdEncoding.EncodeToString(make([]byte, 31)), doc, sig, nil, "31 bytes"},
		{"short signature", pub, doc, base64.StdEncoding.EncodeToString(make([]byte, 63)), nil, "63 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.pub, tt.doc, tt.sig)
			switch {
			case tt.wantErr == nil && tt.wantText == "":
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
			case tt.wantErr != nil:
				if !errors.Is(err, tt.wantErr) {
					t.Errorf("got %v, want %v", err, tt.wantErr)
				}
			default:
				if err == nil || errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), tt.wantText) {
					t.Errorf("got %v, want a malformed-input error saying %q", err, tt.wantText)
				}
			}
		})
	}
}

// Enough ballots to fill every batch in flight several times over: the
// digests must not depend on how ballots were batched for hashing, and a
// count may go on after documents were written.
func TestDigestAcrossBatches(t *testing.T) {
	def := parseDef(t, basicDef+"  - {id: u2, name: 单位二, type: T}\n")
	n := (maxBatches+2)*hashChunk + 17
	var vs []vote
	for i := range n {
		unit, cat := []string{"u1", "u2"}[i%2], []string{"a", "b"}[i/2%2]
		vs = append(vs, vote{unit, cat, string([]byte{'A' + byte(i%4), 'A' + byte(i/4%4)})})
	}
	want := func(vs []vote) string {
		var hs [][]byte
		for _, v := range vs {
			h := sha256.Sum256([]byte(v.unit + "\x00" + v.cat + "\x00" + string(v.bytes())))
			hs = append(hs, h[:])
		}
		slices.SortFunc(hs, bytes.Compare)
		sum := sha256.Sum256(bytes.Join(hs, nil))
		return hex.EncodeToString(sum[:])
	}
	c := NewCounter(def)
	turnout := Turnout{"u1": {}, "u2": {}}
	add := func(vs []vote) {
		for _, v := range vs {
			if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
				t.Fatal(err)
			}
			k := turnout[v.unit][v.cat]
			k.Issued++
			k.Voted++
			turnout[v.unit][v.cat] = k
		}
	}
	add(vs[:n-5])
	first, err := c.Documents(turnout, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := first.Result.BallotsSHA256, want(vs[:n-5]); got != want {
		t.Errorf("digest of %d ballots: got %s, want %s", n-5, got, want)
	}
	add(vs[n-5:])
	docs, err := c.Documents(turnout, Meta{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := docs.Result.BallotsSHA256, want(vs); got != want {
		t.Errorf("digest of %d ballots: got %s, want %s", n, got, want)
	}
	if got := docs.Result.Ballots; got != n {
		t.Errorf("ballots: got %d, want %d", got, n)
	}
}

// TestMergeCountsAsOne counts the same ballots in one counter and in three
// merged ones, split unevenly and across hashing batches: every document
// must be byte for byte the same.
func TestMergeCountsAsOne(t *testing.T) {
	def := parseDef(t, basicDef+"  - {id: u2, name: 单位二, type: T}\n")
	n := 2*hashChunk + 101
	var vs []vote
	turnout := Turnout{"u1": {}, "u2": {}}
	for i := range n {
		v := vote{[]string{"u1", "u2"}[i%2], []string{"a", "b"}[i/2%2], string([]byte{'A' + byte(i%4), 'A' + byte(i/4%4)})}
		vs = append(vs, v)
		k := turnout[v.unit][v.cat]
		k.Issued, k.Voted = k.Issued+1, k.Voted+1
		turnout[v.unit][v.cat] = k
	}
	meta := Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"}
	counter := func(vs []vote) *Counter {
		c := NewCounter(def)
		for _, v := range vs {
			if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
				t.Fatal(err)
			}
		}
		return c
	}
	want, err := counter(vs).Documents(turnout, meta)
	if err != nil {
		t.Fatal(err)
	}
	merged := counter(vs[:7])
	for _, part := range [][]vote{vs[7 : hashChunk+50], vs[hashChunk+50:], nil} {
		if err := merged.Merge(counter(part)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := merged.Documents(turnout, meta)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Round, want.Round) {
		t.Errorf("round document of merged counters differs:\n got %s\nwant %s", got.Round, want.Round)
	}
	if len(got.Units) != len(want.Units) {
		t.Fatalf("got %d unit documents, want %d", len(got.Units), len(want.Units))
	}
	for i := range want.Units {
		if !bytes.Equal(got.Units[i].Bytes, want.Units[i].Bytes) {
			t.Errorf("unit %s document of merged counters differs:\n got %s\nwant %s", want.Units[i].ID, got.Units[i].Bytes, want.Units[i].Bytes)
		}
	}
	if got.Result.Ballots != n {
		t.Errorf("ballots: got %d, want %d", got.Result.Ballots, n)
	}
	if err := merged.Merge(NewCounter(parseDef(t, basicDef))); err == nil {
		t.Error("merged a counter of another definition")
	}
	if err := merged.Merge(merged); err == nil {
		t.Error("merged a counter into itself")
	}
}

// TestPrepareWritesEachDocument: a seal's documents, written one at a time
// from a prepared counter, are those of Documents byte for byte and in its
// order, each handed over as soon as it is made, and only once; an error
// from put stops the writing and comes back.
func TestPrepareWritesEachDocument(t *testing.T) {
	def := parseDef(t, rankDef)
	var vs []vote
	for i, u := range def.Units {
		for _, c := range def.Categories {
			if n := len(def.Layout(&def.Units[i], c.ID)); n > 0 {
				vs = append(vs, votes(2+i, u.ID, c.ID, strings.Repeat(string(rune('A'+i%3)), n))...)
			}
		}
	}
	want := count(t, def, vs, nil)
	turnout := Turnout{}
	c := NewCounter(def)
	for _, v := range vs {
		if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
			t.Fatal(err)
		}
		if turnout[v.unit] == nil {
			turnout[v.unit] = map[string]Count{}
		}
		n := turnout[v.unit][v.cat]
		turnout[v.unit][v.cat] = Count{n.Issued + 1, n.Voted + 1}
	}
	s, err := c.Prepare(turnout, Meta{RoundID: "r1", SealedAt: "2026-01-20T09:30:00Z"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Result.Units) != 0 {
		t.Errorf("prepared result holds %d units, want none", len(s.Result.Units))
	}
	var got []UnitDoc
	round, err := s.Write(func(u UnitDoc) error {
		got = append(got, u)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(round, want.Round) {
		t.Errorf("round document written one unit at a time differs:\n got %s\nwant %s", round, want.Round)
	}
	if len(got) != len(want.Units) {
		t.Fatalf("got %d unit documents, want %d", len(got), len(want.Units))
	}
	for i, u := range got {
		if u.ID != want.Units[i].ID || !bytes.Equal(u.Bytes, want.Units[i].Bytes) {
			t.Errorf("unit document %d: got %s %s, want %s %s", i, u.ID, u.Bytes, want.Units[i].ID, want.Units[i].Bytes)
		}
	}
	if _, err := s.Write(func(UnitDoc) error { return nil }); err == nil {
		t.Error("the documents were written twice")
	}

	c = NewCounter(def)
	for _, v := range vs {
		if err := c.Add(v.unit, v.cat, v.bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if s, err = c.Prepare(turnout, Meta{}); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("the store refused")
	n := 0
	if _, err := s.Write(func(UnitDoc) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("put failing: Write returned %v after %d documents, want the error after 1", err, n)
	}
}
