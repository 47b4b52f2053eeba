package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"

	"minping/survey"
)

// FuzzParseAnswers checks the direct reading of a ballot body against
// encoding/json as bindJSON uses it: whatever parseAnswers accepts, the
// decoder accepts too, with the same answers.
func FuzzParseAnswers(f *testing.F) {
	for _, seed := range []string{
		`{"answers":[{"form":"team","subject":"team","item":"团结协作","option":"好"},{"form":"members","subject":"czj-1","item":"综合评价","option":"不了解"}]}`,
		` { "answers" : [ { "option" : "好" , "item":"德", "subject":"s","form":"f"} ] } trailing`,
		`{"answers":[]}`,
		`{"answers":[{}]}`,
		`{"answers":[{"form":"a","form":"b"}]}`,
		`{"answers":[{"Form":"a"}]}`,
		`{"answers":[{"form":"a\u0062"}]}`,
		`{"answers":[{"form":"a","extra":"x"}]}`,
		`{"answers":null}`,
		`{"answers":[{"form":1}]}`,
		"{\"answers\":[{\"form\":\"\xff\"}]}",
		`{"answers":[{"form":"a"}],"answers":[]}`,
		`{"answers":[{"form":"a"},]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, ok := parseAnswers(body)
		if !ok {
			return
		}
		var want submitRequest
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("parseAnswers accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !slices.Equal(got, want.Answers) {
			t.Fatalf("%q: parseAnswers read %v, encoding/json %v", body, got, want.Answers)
		}
	})
}

// TestParseAnswersTakesWhatClientsSend checks that the usual bodies take the
// direct way, and the unusual ones are left to encoding/json.
func TestParseAnswersTakesWhatClientsSend(t *testing.T) {
	body, _ := json.Marshal(submitRequest{Answers: []survey.Answer{
		{Form: "team", Subject: "team", Item: "团结协作", Option: "好"},
		{Form: "members", Subject: "czj-1", Item: "综合评价", Option: "不了解"},
	}})
	if _, ok := parseAnswers(body); !ok {
		t.Errorf("parseAnswers refused %s", body)
	}
	for _, b := range []string{`{"answers":[{"form":"a\"b"}]}`, `{"Answers":[]}`, `{"answers":[{"form":null}]}`, `[]`} {
		if _, ok := parseAnswers([]byte(b)); ok {
			t.Errorf("parseAnswers took %s, want it left to encoding/json", b)
		}
	}
}

// TestReadBodyClaimHoldsNoMemory sends a body that claims 512 MB and holds a
// few bytes: readBody must not allocate what the claim says, only what
// arrives.
func TestReadBodyClaimHoldsNoMemory(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/api/v1/ballots/x", strings.NewReader(`{"answers":[]}`))
	r.ContentLength = 512 << 20
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	body, err := readBody(r, 1<<20)
	runtime.ReadMemStats(&after)
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("reading a 14-byte body that claims 512 MB allocated %d bytes", n)
	}
	if err != nil || string(body) != `{"answers":[]}` {
		t.Fatalf("got %d bytes, %v; want the 14 sent", len(body), err)
	}
}
