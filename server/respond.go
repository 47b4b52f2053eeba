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
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, errTooMany):
		return http.StatusTooManyRequests
	case errors.Is(err, sqlite.ErrCompactIncomplete), errors.Is(err, survey.ErrUnsafeStore), errors.Is(err, survey.ErrKeyUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

var errForbidden = errors.New("forbidden")

// errTooMany is a client that failed too often lately.
var errTooMany = errors.New("too many failed attempts")

// errUnsupportedMedia is a body of a type the route does not take.
var errUnsupportedMedia = errors.New("unsupported media type")

// messageOf is what a person reads for an error, in Chinese.
func messageOf(err error) string {
	var se *stateError
	switch {
	case errors.As(err, &se):
		return se.msg
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
	case errors.Is(err, errTooMany):
		return "失败次数过多，请稍后再试"
	case errors.Is(err, errUnsupportedMedia):
		return "不支持这种内容类型：测评方案请以 Content-Type: application/yaml 或 application/json 提交"
	case errors.Is(err, survey.ErrKeyUnavailable):
		return "这台服务器的密钥目录里没有本轮测评的投票密钥，不能在这里结束测评：请在开启本轮测评的服务器上结束，或让所有实例共用同一个密钥目录。测评仍在进行，选票没有丢失。"
	case errors.Is(err, survey.ErrUnsafeStore):
		return "暂停收票：数据库的设置现在会记下投票的时间或测评码，在管理员改回之前不接收选票，您的测评码仍然有效，请稍后再试。"
	case errors.Is(err, sqlite.ErrCompactIncomplete):
		return "测评已结束，但数据库文件尚未整理（有其他程序正在读取数据库，例如备份），投票期间的页面顺序还留在文件中。请稍后再次提交“结束测评”，或在服务器上运行 minping compact；下次启动时也会自动完成。"
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

// afterSeal lets a seal stand when only the compaction behind it was
// incomplete: the documents are signed and stored, and what the compaction
// would clear (free pages, already zeroed) reveals nothing, so it is
// answered as done and the log says the compaction is owed. A close is not
// so forgiving: its compaction clears the voting's page order, and it
// answers ErrCompactIncomplete with the remedy (statusOf, messageOf).
func (s *base) afterSeal(err error) error {
	if errors.Is(err, sqlite.ErrCompactIncomplete) {
		s.log.Warn("seal: done, but the database file could not be rebuilt while others read it; it is owed and runs at the next close, the next start or `minping compact`", "err", err)
		return nil
	}
	return err
}
