package httpapi

import (
	"reflect"
	"regexp"

	"github.com/openwa/openwa/internal/apperr"
)

func reflectType[T any]() reflect.Type { return reflect.TypeFor[T]() }

var sessionIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

func fieldErr(field, msg string) error { return apperr.Field(field, msg) }
