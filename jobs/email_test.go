package jobs

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the templates")

func TestRupees(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		paise int64
		want  string
	}{
		{0, "₹0.00"},
		{5, "₹0.05"},
		{1249, "₹12.49"},
		{99900, "₹999.00"},
		{124900, "₹1,249.00"},
		{10000000, "₹1,00,000.00"},
		{1234567899, "₹1,23,45,678.99"},
		{-124900, "-₹1,249.00"},
	} {
		require.Equal(t, tt.want, Rupees(tt.paise), tt.paise)
	}
}

// TestEmailGolden renders every email with sample data and compares it with
// testdata/<name>.golden; run `go test ./jobs -run TestEmailGolden -update`
// after changing a template.
func TestEmailGolden(t *testing.T) {
	t.Parallel()
	tmpl, err := newEmailTemplates()
	require.NoError(t, err)
	for name, data := range map[string]any{
		"welcome": map[string]any{"Name": "Asha <Admin>"},
		"order_confirmation": map[string]any{
			"Name": "Arjun", "OrderID": "0b5c6a52-1f7e-4d55-9f0e-7c2b8d9e4b61", "ShopName": "Gupta Kirana & Sons",
			"TotalPaise": int64(10139800), "Items": []orderLine{
				{Name: "Basmati Rice 5kg", Quantity: 2, PricePaise: 62450, AmountPaise: 124900},
				{Name: "Wedding Sweets Box", Quantity: 1, PricePaise: 10000000, AmountPaise: 10000000},
				{Name: "Toor Dal 1kg", Quantity: 1, PricePaise: 14900, AmountPaise: 14900},
			},
		},
		"order_update":    map[string]any{"Name": "Arjun", "OrderID": "ord-1", "Status": "out_for_delivery", "PreviousStatus": "packed"},
		"order_cancelled": map[string]any{"Name": "Arjun", "OrderID": "ord-1", "Reason": "Ordered <by> mistake"},
		"out_of_stock":    map[string]any{"Name": "Lakshmi", "ProductName": "Amul Ghee 1L", "ShopName": "Gupta Kirana"},
		"order_stalled":   map[string]any{"Name": "Lakshmi", "OrderID": "ord-1", "ShopName": "Gupta Kirana & Sons", "After": minutes(30 * time.Minute)},
		"notification":    map[string]any{"Subject": "Diwali offers", "Message": "Up to 50% off <sweets> & more"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e, err := tmpl.render(name, data)
			require.NoError(t, err)
			got := "Subject: " + e.Subject + "\n\n--- html ---\n" + e.HTML + "\n--- text ---\n" + e.Text
			path := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, string(want), got)
		})
	}
}
