package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// failures returns err's failures as "field: message" lines, or nil when
// err is nil. It fails the test if err is not a *ValidationError.
func failures(t *testing.T, err error) []string {
	t.Helper()

	if err == nil {
		return nil
	}
	var verr *ValidationError
	require.ErrorAs(t, err, &verr)
	lines := make([]string, 0, len(verr.Fields))
	for _, f := range verr.Fields {
		lines = append(lines, f.Field+": "+f.Message)
	}
	return lines
}

func TestValidateExamples(t *testing.T) {
	t.Parallel()

	for name, ex := range examples() {
		t.Run(name, func(t *testing.T) {
			t.Parallel()

			err := Validate(Event{Name: name, Data: json.RawMessage(ex.data)})
			require.NoError(t, err) // also proves no typed nil *ValidationError is returned
		})
	}
}

// step is one step of a path into decoded JSON: a string key or an int
// index.
type step any

// generatedCase is a mutation of a valid example and the single failure it
// must cause.
type generatedCase struct {
	name   string
	steps  []step
	value  any // the value to put at steps; nil with remove
	remove bool
	want   string
}

// wrongValue returns a value of the wrong type for typ, and the message
// it must cause.
func wrongValue(typ jsonType) (any, string) {
	switch typ {
	case typeString:
		return json.Number("1"), "must be a string"
	case typeInteger:
		return "1", "must be an integer"
	case typeObject:
		return "x", "must be an object"
	case typeArray:
		return map[string]any{}, "must be an array"
	}
	panic("unknown type " + string(typ))
}

func pathOf(steps []step) string {
	var b strings.Builder
	b.WriteString("data")
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			b.WriteString("." + s)
		case int:
			fmt.Fprintf(&b, "[%d]", s)
		}
	}
	return b.String()
}

// generateCases walks spec, an object field, alongside val, the decoded
// example at steps, and returns a missing case for every required field
// and a wrong-type case for every field present in the example.
func generateCases(spec field, steps []step, val any) []generatedCase {
	obj, _ := val.(map[string]any)
	var cases []generatedCase
	for _, f := range spec.fields {
		fsteps := append(append([]step{}, steps...), f.key)
		path := pathOf(fsteps)
		if f.required {
			cases = append(cases, generatedCase{name: path + "/missing", steps: fsteps, remove: true, want: path + ": is required"})
			cases = append(cases, generatedCase{name: path + "/null", steps: fsteps, value: nil, want: path + ": is required"})
		}
		fval, present := obj[f.key]
		if !present {
			continue
		}
		wrong, msg := wrongValue(f.typ)
		cases = append(cases, generatedCase{name: path + "/wrong_type", steps: fsteps, value: wrong, want: path + ": " + msg})

		switch {
		case f.typ == typeObject && len(f.fields) > 0:
			cases = append(cases, generateCases(f, fsteps, fval)...)
		case f.typ == typeArray && f.items != nil && f.items.typ == typeObject:
			if arr, _ := fval.([]any); len(arr) > 0 {
				cases = append(cases, generateCases(*f.items, append(fsteps, 0), arr[0])...)
			}
		}
	}
	return cases
}

// decodeExample decodes an example's data keeping numbers exact.
func decodeExample(t *testing.T, data string) any {
	t.Helper()

	dec := json.NewDecoder(bytes.NewReader([]byte(data)))
	dec.UseNumber()
	var v any
	require.NoError(t, dec.Decode(&v))
	return v
}

// mutate sets (or removes) the value at steps inside root.
func mutate(t *testing.T, root any, steps []step, value any, remove bool) {
	t.Helper()

	parent := root
	for _, s := range steps[:len(steps)-1] {
		switch s := s.(type) {
		case string:
			parent = parent.(map[string]any)[s]
		case int:
			parent = parent.([]any)[s]
		}
	}
	switch last := steps[len(steps)-1].(type) {
	case string:
		obj := parent.(map[string]any)
		if remove {
			delete(obj, last)
		} else {
			obj[last] = value
		}
	case int:
		parent.([]any)[last] = value
	}
}

// TestValidateGenerated checks, for every catalog event, every required
// field missing and null, and every field with a value of the wrong type.
func TestValidateGenerated(t *testing.T) {
	t.Parallel()

	exs := examples()
	total := 0
	for _, spec := range catalog() {
		ex := exs[spec.name]
		cases := generateCases(spec.data, nil, decodeExample(t, ex.data))
		total += len(cases)

		for _, tc := range cases {
			t.Run(spec.name+"/"+tc.name, func(t *testing.T) {
				t.Parallel()

				data := decodeExample(t, ex.data)
				mutate(t, data, tc.steps, tc.value, tc.remove)
				raw, err := json.Marshal(data)
				require.NoError(t, err)

				err = Validate(Event{Name: spec.name, Data: raw})
				require.Equal(t, []string{tc.want}, failures(t, err), "data: %s", raw)
				require.EqualError(t, err, tc.want)
			})
		}
	}

	// Guards against the generator silently skipping fields: 28 top-level
	// and 3 item-level required fields (missing, null, wrong type each) plus
	// 17 optional fields (wrong type).
	require.Equal(t, 31*3+17, total)
}

func TestValidate(t *testing.T) {
	t.Parallel()

	long := strings.Repeat("a", 257)

	tests := []struct {
		name   string
		ev     Event
		want   []string
		errStr string // the whole Error(), when given
	}{
		{
			name: "QuantityZero",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":0,"pricePaise":100}],"totalPaise":0}`)},
			want:   []string{"data.items[0].quantity: must be > 0"},
			errStr: "data.items[0].quantity: must be > 0",
		},
		{
			name: "QuantityFraction",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1.5,"pricePaise":100}],"totalPaise":150}`)},
			want: []string{"data.items[0].quantity: must be an integer"},
		},
		{
			name: "IntegerWithExponent",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1e2,"pricePaise":100}],"totalPaise":100}`)},
			want: []string{"data.items[0].quantity: must be an integer"},
		},
		{
			name: "IntegerOutOfRange",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":100}],"totalPaise":99999999999999999999}`)},
			want: []string{"data.totalPaise: is out of range"},
		},
		{
			name: "TotalAboveMaximum",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001",` +
					`"items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":100}],"totalPaise":9007199254740992}`)},
			want: []string{"data.totalPaise: must be <= 9007199254740991"},
		},
		{
			name: "NegativeMoneyAndSecondItemErrors",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[` +
					`{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":100},` +
					`{"productId":"","quantity":-1,"pricePaise":-5,"note":"x"},` +
					`"p_3"],"totalPaise":-1}`)},
			want: []string{
				"data.items[1].productId: must not be empty",
				"data.items[1].quantity: must be > 0",
				"data.items[1].pricePaise: must be >= 0",
				"data.items[2]: must be an object",
				"data.totalPaise: must be >= 0",
			},
		},
		{
			name: "EmptyItems",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[],"totalPaise":0}`)},
			want: []string{"data.items: must not be empty"},
		},
		{
			name: "ZeroTotalAllowed",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":0}],"totalPaise":0}`)},
		},
		{
			name: "BadEmail",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"not-an-email","name":"Asha"}`)},
			want: []string{"data.email: must be a valid email address"},
		},
		{
			name: "EmailWithDisplayName",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"Asha <asha@example.com>","name":"Asha"}`)},
			want: []string{"data.email: must be a valid email address"},
		},
		{
			name: "EmptyRequiredStrings",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"","email":"","name":"Asha"}`)},
			want: []string{"data.userId: must not be empty", "data.email: must not be empty"},
		},
		{
			name:   "MultipleErrorsAllListed",
			ev:     Event{Name: NameUserCreated, Data: json.RawMessage(`{"email":5,"phone":true,"zeta":1,"extra":true}`)},
			want:   []string{"data.userId: is required", "data.email: must be a string", "data.name: is required", "data.phone: must be a string"},
			errStr: "data.userId: is required; data.email: must be a string; data.name: is required; data.phone: must be a string",
		},
		{
			name: "UnknownFieldAccepted",
			ev:   Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","foo":1,"nested":{"a":[1,"x",null]}}`)},
		},
		{
			name: "UnknownFieldInItemAccepted",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":1,"note":"x"}],"totalPaise":1}`)},
		},
		{
			// encoding/json would decode UserID into userId: a case variant
			// of a known field is not ignored, so it is reported.
			name: "CaseVariantOfKnownFieldRejected",
			ev:   Event{Name: NameUserDeleted, Data: json.RawMessage(`{"UserID":"10000000-0000-4000-8000-000000000001"}`)},
			want: []string{"data.userId: is required", "data.UserID: differs from userId only in letter case; names are case-sensitive"},
		},
		{
			name: "CaseVariantBesideKnownFieldRejected",
			ev: Event{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":1,"pricePaise":1,"QUANTITY":5}],"totalPaise":1,"TotalPaise":0}`)},
			want: []string{
				"data.items[0].QUANTITY: differs from quantity only in letter case; names are case-sensitive",
				"data.TotalPaise: differs from totalPaise only in letter case; names are case-sensitive",
			},
		},
		{
			name: "PhoneE164",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha","phone":"+919800000001"}`)},
		},
		{
			name: "PhoneEmptyMeansNone",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha","phone":""}`)},
		},
		{
			name: "PhoneNotE164",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha","phone":"98000 00001"}`)},
			want: []string{"data.phone: must be an E.164 phone number, such as +919800000001"},
		},
		{
			name: "UserUpdatedPhoneNotE164",
			ev:   Event{Name: NameUserUpdated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","phone":"+91 98000 00001"}`)},
			want: []string{"data.phone: must be an E.164 phone number, such as +919800000001"},
		},
		{
			name: "SMSToNotE164",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"sms","to":"09800000001","message":"hi"}`)},
			want: []string{"data.to: must be an E.164 phone number, such as +919800000001"},
		},
		{
			name: "EmailToIsNoPhone",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"email","to":"asha@example.com","message":"hi"}`)},
		},
		{
			name: "NULInName",
			ev:   Event{Name: "app/a\x00b"},
			want: []string{`name: must not contain the NUL character (\u0000)`},
		},
		{
			name: "InvalidUTF8InName",
			ev:   Event{Name: "app/\xff"},
			want: []string{"name: must be valid UTF-8"},
		},
		{
			name: "NULInKnownField",
			ev:   Event{Name: NameProductCreated, Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","name":"Atta\u0000"}`)},
			want: []string{`data.name: must not contain the NUL character (\u0000)`},
		},
		{
			name: "NULInUnknownFieldAndKey",
			ev:   Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","extra":{"list":["ok","\u0000"]},"k\u0000":1}`)},
			want: []string{`data: must not have a key containing the NUL character (\u0000)`, `data.extra.list[1]: must not contain the NUL character (\u0000)`},
		},
		{
			name: "NULInAnalyticsProperties",
			ev:   Event{Name: NameAnalyticsTrack, Data: json.RawMessage(`{"event":"Viewed","properties":{"page":"a\u0000"}}`)},
			want: []string{`data.properties.page: must not contain the NUL character (\u0000)`},
		},
		{
			name: "NULInCustomEventData",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"a":{"b":"\u0000"}}`)},
			want: []string{`data.a.b: must not contain the NUL character (\u0000)`},
		},
		{
			name: "EscapedBackslashBeforeU0000IsText",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"a":"\\u0000 and \\ud800"}`)},
		},
		{
			name: "InvalidUTF8InData",
			ev:   Event{Name: "app/custom", Data: json.RawMessage("{\"a\":\"\xff\"}")},
			want: []string{"data: must be valid UTF-8"},
		},
		{
			name: "LoneHighSurrogate",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"a":"x\ud83dy"}`)},
			want: []string{`data: must not contain an unpaired surrogate escape (\ud800 to \udfff)`},
		},
		{
			name: "LoneLowSurrogate",
			ev:   Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"\uDE00"}`)},
			want: []string{`data: must not contain an unpaired surrogate escape (\ud800 to \udfff)`, "data.userId: " + msgNotUUID},
		},
		{
			name: "HighSurrogateAtEndOfString",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"a":"\ud83d"}`)},
			want: []string{`data: must not contain an unpaired surrogate escape (\ud800 to \udfff)`},
		},
		{
			name: "SurrogatePair",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"a":"\ud83d\ude00 \u00e9 \n"}`)},
		},
		{
			name: "NumbersPostgreSQLCannotStore",
			ev:   Event{Name: "app/custom", Data: json.RawMessage(`{"big":1e131072,"bigger":10e131071,"fine":[1e131071,1e-16383,0e200000,-0.5,12.5e3],"tiny":1e-16384,"zero":0e-16384}`)},
			want: []string{"data.big: is out of range", "data.bigger: is out of range", "data.tiny: is out of range", "data.zero: is out of range"},
		},
		{
			name: "NullOptionalIsAbsent",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha","phone":null}`)},
		},
		{
			name: "UserUpdatedOnlyID",
			ev:   Event{Name: NameUserUpdated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"}`)},
		},
		{
			name: "UserUpdatedEmptyNameAndBadEmail",
			ev:   Event{Name: NameUserUpdated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","name":"","email":"x@"}`)},
			want: []string{"data.email: must be a valid email address", "data.name: must not be empty"},
		},
		{
			name: "StatusEnum",
			ev:   Event{Name: NameOrderUpdated, Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","status":"shipped","previousStatus":"placed"}`)},
			want: []string{"data.status: must be one of: placed, confirmed, packed, out_for_delivery, delivered, cancelled"},
		},
		{
			name: "OrderCancelledWithoutReason",
			ev:   Event{Name: NameOrderCancelled, Data: json.RawMessage(`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001"}`)},
		},
		{
			name: "ProductUpdatedOnlyID",
			ev:   Event{Name: NameProductUpdated, Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001"}`)},
		},
		{
			name: "ProductUpdatedNegativeStockAndPrice",
			ev:   Event{Name: NameProductUpdated, Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001","pricePaise":-1,"stock":-2}`)},
			want: []string{"data.pricePaise: must be >= 0", "data.stock: must be >= 0"},
		},
		{
			name: "ProductUpdatedPriceAtMaximum",
			ev:   Event{Name: NameProductUpdated, Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001","pricePaise":10000000000}`)},
		},
		{
			name: "ProductUpdatedPriceAboveMaximum",
			ev:   Event{Name: NameProductUpdated, Data: json.RawMessage(`{"productId":"40000000-0000-4000-8000-000000000001","pricePaise":10000000001}`)},
			want: []string{"data.pricePaise: must be <= 10000000000"},
		},
		{
			name: "NotificationNeitherToNorUserID",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"sms","message":"hi"}`)},
			want: []string{"data.to: is required (or data.userId)"},
		},
		{
			name: "NotificationNullTo",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"sms","to":null,"message":"hi"}`)},
			want: []string{"data.to: is required (or data.userId)"},
		},
		{
			name: "NotificationUserIDOnly",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"push","userId":"10000000-0000-4000-8000-000000000001","message":"hi"}`)},
		},
		{
			name: "NotificationToOnly",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"sms","to":"+919800000001","message":"hi"}`)},
		},
		{
			name: "NotificationEmptyTo",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"sms","to":"","message":"hi"}`)},
			want: []string{"data.to: must not be empty"},
		},
		{
			name: "NotificationBadChannel",
			ev:   Event{Name: NameNotificationSend, Data: json.RawMessage(`{"channel":"fax","userId":"10000000-0000-4000-8000-000000000001","message":"hi"}`)},
			want: []string{"data.channel: must be one of: email, sms, push"},
		},
		{
			name: "AnalyticsPropertiesNotObject",
			ev:   Event{Name: NameAnalyticsTrack, Data: json.RawMessage(`{"event":"Viewed","properties":[1,2]}`)},
			want: []string{"data.properties: must be an object"},
		},
		{
			name: "AnalyticsPropertiesAnyKeys",
			ev:   Event{Name: NameAnalyticsTrack, Data: json.RawMessage(`{"event":"Viewed","properties":{"a":{"b":[1,null]},"c":1.5}}`)},
		},
		{
			name: "SearchIndexTypeEnum",
			ev:   Event{Name: NameSearchIndex, Data: json.RawMessage(`{"type":"user","id":"10000000-0000-4000-8000-000000000001"}`)},
			want: []string{"data.type: must be one of: product, shop"},
		},
		{
			name: "CleanupExpiredSessionsNoData",
			ev:   Event{Name: NameCleanupExpiredSessions},
		},
		{
			name: "CleanupExpiredSessionsUnknownFieldAccepted",
			ev:   Event{Name: NameCleanupExpiredSessions, Data: json.RawMessage(`{"all":true}`)},
		},
		{
			name: "CleanupOldLogsAbsent",
			ev:   Event{Name: NameCleanupOldLogs, Data: json.RawMessage(`null`)},
		},
		{
			name: "CleanupOldLogsZero",
			ev:   Event{Name: NameCleanupOldLogs, Data: json.RawMessage(`{"olderThanDays":0}`)},
			want: []string{"data.olderThanDays: must be > 0"},
		},
		{
			name: "CleanupOldLogsString",
			ev:   Event{Name: NameCleanupOldLogs, Data: json.RawMessage(`{"olderThanDays":"7"}`)},
			want: []string{"data.olderThanDays: must be an integer"},
		},
		{
			name: "KnownEventNullData",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(` null `)},
			want: []string{"data.userId: is required", "data.email: is required", "data.name: is required"},
		},
		{
			name: "KnownEventNoData",
			ev:   Event{Name: NameSearchIndex},
			want: []string{"data.type: is required", "data.id: is required"},
		},
		{
			name: "DataNotObject",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`["10000000-0000-4000-8000-000000000001"]`)},
			want: []string{"data: must be an object"},
		},
		{
			name: "DataInvalidJSON",
			ev:   Event{Name: NameUserCreated, Data: json.RawMessage(`{"userId":`)},
			want: []string{"data: must be valid JSON"},
		},
		{
			name: "DataTrailingGarbage",
			ev:   Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"} {}`)},
			want: []string{"data: must be valid JSON"},
		},
		{
			name:   "NameRequired",
			ev:     Event{Data: json.RawMessage(`{}`)},
			want:   []string{"name: is required"},
			errStr: "name: is required",
		},
		{
			name: "NameTooLong",
			ev:   Event{Name: long},
			want: []string{"name: must be at most 256 characters"},
		},
		{
			name: "NameMaxLengthInCharacters",
			ev:   Event{Name: strings.Repeat("é", 256)},
		},
		{
			name: "NameRequiredAndDataNotObject",
			ev:   Event{Data: json.RawMessage(`"x"`)},
			want: []string{"name: is required", "data: must be an object"},
		},
		{
			name: "CustomEventAnyData",
			ev:   Event{Name: "app/signup_step", Data: json.RawMessage(`{"step":2,"nested":{"ok":true}}`)},
		},
		{
			name: "CustomEventNoData",
			ev:   Event{Name: "app/ping"},
		},
		{
			name: "CustomEventDataNotObject",
			ev:   Event{Name: "app/ping", Data: json.RawMessage(`42`)},
			want: []string{"data: must be an object"},
		},
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			err := Validate(tt.ev)
			require.Equal(t, tt.want, failures(t, err))
			if tt.want == nil {
				require.NoError(t, err)
			}
			if tt.errStr != "" {
				require.EqualError(t, err, tt.errStr)
			}
			if err != nil {
				var verr *ValidationError
				require.ErrorAs(t, err, &verr)
				require.False(t, verr.Batch)
				for _, f := range verr.Fields {
					require.Zero(t, f.Index)
				}
			}
		})
	}
}

func TestValidateAll(t *testing.T) {
	t.Parallel()

	valid := Event{Name: NameUserDeleted, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001"}`)}

	t.Run("AllValid", func(t *testing.T) {
		t.Parallel()

		require.NoError(t, ValidateAll([]Event{valid, valid, {Name: "app/custom"}}))
	})

	t.Run("Empty", func(t *testing.T) {
		t.Parallel()

		require.NoError(t, ValidateAll(nil))
	})

	t.Run("ReportsEveryEvent", func(t *testing.T) {
		t.Parallel()

		err := ValidateAll([]Event{
			valid,
			{Name: NameUserCreated, Data: json.RawMessage(`{"userId":"10000000-0000-4000-8000-000000000001","name":"Asha"}`)},
			{Data: json.RawMessage(`{}`)},
			valid,
			{Name: NameOrderCreated, Data: json.RawMessage(
				`{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[{"productId":"40000000-0000-4000-8000-000000000001","quantity":0,"pricePaise":1}],"totalPaise":1,"x":1}`)},
		})

		var verr *ValidationError
		require.ErrorAs(t, err, &verr)
		require.True(t, verr.Batch)
		require.Equal(t, []FieldError{
			{Index: 1, Field: "data.email", Message: "is required"},
			{Index: 2, Field: "name", Message: "is required"},
			{Index: 4, Field: "data.items[0].quantity", Message: "must be > 0"},
		}, verr.Fields)
		require.EqualError(t, err, "events[1].data.email: is required; events[2].name: is required; "+
			"events[4].data.items[0].quantity: must be > 0")
	})

	t.Run("FirstEventOfBatchIsPrefixed", func(t *testing.T) {
		t.Parallel()

		err := ValidateAll([]Event{{}, valid})
		require.EqualError(t, err, "events[0].name: is required")
	})

	t.Run("SingleEventBatchIsNotPrefixed", func(t *testing.T) {
		t.Parallel()

		err := ValidateAll([]Event{{}})
		var verr *ValidationError
		require.ErrorAs(t, err, &verr)
		require.False(t, verr.Batch)
		require.EqualError(t, err, "name: is required")
	})
}

func TestValidationErrorError(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		err  *ValidationError
		want string
	}{
		{name: "Empty", err: &ValidationError{}, want: "invalid event"},
		{
			name: "Single",
			err:  &ValidationError{Fields: []FieldError{{Field: "data.a", Message: "is required"}, {Field: "data.b", Message: "unknown field"}}},
			want: "data.a: is required; data.b: unknown field",
		},
		{
			name: "Batch",
			err:  &ValidationError{Batch: true, Fields: []FieldError{{Field: "name", Message: "is required"}}},
			want: "events[0].name: is required",
		},
		{
			name: "NonZeroIndexWithoutBatch",
			err:  &ValidationError{Fields: []FieldError{{Index: 3, Field: "name", Message: "is required"}}},
			want: "events[3].name: is required",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()

			require.Equal(t, tt.want, tt.err.Error())

			var target *ValidationError
			require.True(t, errors.As(fmt.Errorf("error publishing: %w", tt.err), &target))
		})
	}
}
