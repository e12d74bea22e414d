package events

// Money limits, in integer paise (100 paise = ₹1). The catalog's schemas
// and validator apply them to the money fields of event data, and the
// marketplace applies them to products and orders.
const (
	// MaxPricePaise is the highest unit price of a product: 10^10 paise,
	// ₹10 crore.
	MaxPricePaise int64 = 10_000_000_000
	// MaxTotalPaise is the highest order total: 2^53 − 1 paise, the largest
	// integer that a JSON number keeps exactly in JavaScript (and in every
	// other reader that parses numbers as IEEE 754 doubles).
	MaxTotalPaise int64 = 1<<53 - 1
)
