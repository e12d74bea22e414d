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

// LineTotal returns price × quantity, or false when that is negative or
// exceeds MaxTotalPaise. It never overflows, whatever price and quantity:
// an order line stored before the limits existed may hold any values.
func LineTotal(price int64, quantity int) (int64, bool) {
	if price < 0 || quantity <= 0 || price > MaxTotalPaise/int64(quantity) {
		return 0, false
	}
	return price * int64(quantity), true
}
