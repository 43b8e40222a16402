package httpapi

import (
	"context"
	"time"

	"github.com/openwa/openwa/internal/stamp"
)

// Meta is the meta block of every response.
type Meta struct {
	Timestamp stamp.Time `json:"timestamp"`
	RequestID string     `json:"requestId"`
}

// Envelope is the success envelope of API.md.
type Envelope[T any] struct {
	Success bool `json:"success"`
	Data    T    `json:"data"`
	Meta    Meta `json:"meta"`
}

// Pagination describes a page of a list.
type Pagination struct {
	Page       int `json:"page"`
	Limit      int `json:"limit"`
	Total      int `json:"total"`
	TotalPages int `json:"totalPages"`
}

// ListEnvelope is the paginated envelope of API.md.
type ListEnvelope[T any] struct {
	Success    bool       `json:"success"`
	Data       []T        `json:"data"`
	Pagination Pagination `json:"pagination"`
	Meta       Meta       `json:"meta"`
}

// Out is a handler's output: a status and an envelope.
type Out[T any] struct {
	Status int
	Body   Envelope[T]
}

// ListOut is a list handler's output.
type ListOut[T any] struct {
	Body ListEnvelope[T]
}

// PageQuery is the ?page= and ?limit= of every list. page is bounded so that
// the offset (page-1)*limit stays far inside every integer the handlers and
// the databases use: a larger page is a 400 naming page, never an overflowed
// (negative) offset.
type PageQuery struct {
	Page  int `query:"page" minimum:"1" maximum:"1000000" default:"1" doc:"Page number, from 1 (at most 1000000)."`
	Limit int `query:"limit" minimum:"1" maximum:"100" default:"20" doc:"Items per page."`
}

func (p PageQuery) offset() int { return (p.Page - 1) * p.Limit }

func meta(ctx context.Context) Meta {
	return Meta{Timestamp: stamp.Of(time.Now()), RequestID: requestID(ctx)}
}

func reply[T any](ctx context.Context, status int, data T) *Out[T] {
	return &Out[T]{Status: status, Body: Envelope[T]{Success: true, Data: data, Meta: meta(ctx)}}
}

func replyList[T any](ctx context.Context, items []T, p PageQuery, total int) *ListOut[T] {
	if items == nil {
		items = []T{}
	}
	return &ListOut[T]{Body: ListEnvelope[T]{Success: true, Data: items, Meta: meta(ctx),
		Pagination: Pagination{Page: p.Page, Limit: p.Limit, Total: total, TotalPages: (total + p.Limit - 1) / p.Limit}}}
}
