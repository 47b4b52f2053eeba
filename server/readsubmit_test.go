package main

import (
	"bytes"
	"encoding/json"
	"slices"
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
