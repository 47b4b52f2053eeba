package server

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"minping/survey"
	"minping/survey/sqlite"
)

// apiError is the JSON body of every error response (CONTRACT §4).
type apiError struct {
	Error    string           `json:"error"`
	Problems []survey.Problem `json:"problems,omitempty"`
}

// statusOf is the one place that maps domain errors to HTTP statuses.
func statusOf(err error) int {
	var ve *survey.ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusUnprocessableEntity
	case errors.Is(err, survey.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, survey.ErrCodeUsed), errors.Is(err, survey.ErrWrongState), errors.Is(err, survey.ErrDuplicate):
		return http.StatusConflict
	case errors.Is(err, survey.ErrNotStarted), errors.Is(err, survey.ErrVotingOver):
		return http.StatusLocked
	case errors.Is(err, survey.ErrUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

var errForbidden = errors.New("forbidden")

// messageOf is what a person reads for an error, in Chinese.
func messageOf(err error) string {
	switch {
	case errors.Is(err, survey.ErrNotFound):
		return "未找到"
	case errors.Is(err, survey.ErrCodeUsed):
		return "此测评码已使用"
	case errors.Is(err, survey.ErrNotStarted):
		return "测评尚未开始"
	case errors.Is(err, survey.ErrVotingOver):
		return "测评已结束"
	case errors.Is(err, survey.ErrWrongState):
		return "测评活动当前状态不允许此操作"
	case errors.Is(err, survey.ErrDuplicate):
		return "名称已存在"
	case errors.Is(err, survey.ErrUnauthorized):
		return "需要登录或有效的访问令牌"
	case errors.Is(err, errForbidden):
		return "无权访问"
	}
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		return "提交的内容有误"
	}
	return "服务器内部错误"
}

// fail writes err as a JSON error with its status; unexpected errors are
// logged (once, here) and not shown.
func (s *base) fail(c *gin.Context, err error) {
	status := statusOf(err)
	body := apiError{Error: messageOf(err)}
	var ve *survey.ValidationError
	if errors.As(err, &ve) {
		body.Problems = ve.Problems
	}
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "route", c.FullPath(), "err", err)
	}
	c.AbortWithStatusJSON(status, body)
}

// afterChange lets a close or a seal stand when only the compaction behind
// it was incomplete: the change is committed, so it is answered as done, and
// the log says to run minping compact.
func (s *base) afterChange(what string, err error) error {
	if errors.Is(err, sqlite.ErrCompactIncomplete) {
		s.log.Warn(what+": done, but the write-ahead log still holds the voting's commit history; run `minping compact` when no backup or export is reading the database", "err", err)
		return nil
	}
	return err
}
