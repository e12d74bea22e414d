package redact_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/internal/redact"
)

func TestJSONHidesFieldsOffTheAllowList(t *testing.T) {
	got := redact.JSON([]byte(`{"orderId":"o1","name":"Asha","email":"asha@example.com","totalPaise":1200,
		"items":[{"productId":"p1","name":"Rice","quantity":2}],"reason":"call +91 98765 43210"}`))
	require.JSONEq(t, `{"orderId":"o1","name":"[hidden]","email":"[hidden]","totalPaise":1200,
		"items":[{"productId":"p1","name":"[hidden]","quantity":2}],"reason":"call [phone]"}`, string(got))
	require.JSONEq(t, `["e1","[email]"]`, string(redact.JSON([]byte(`["e1","a@b.io"]`))))
	require.JSONEq(t, `true`, string(redact.JSON([]byte(`true`))))
}

func TestPropertiesKeepsTheAllowListOnly(t *testing.T) {
	got := redact.Properties(map[string]any{"userId": "u1", "email": "a@b.io", "changedFields": []string{"email"}})
	require.Equal(t, map[string]any{"userId": "u1", "changedFields": []string{"email"}}, got)
}
