package events

// Name constants, one per catalog event. The names are stored in the event
// log and in River job rows, so they never change.
const (
	// NameUserCreated is published when a user signs up ([UserCreated]).
	NameUserCreated = "user/created"
	// NameUserUpdated is published when a user's profile changes ([UserUpdated]).
	NameUserUpdated = "user/updated"
	// NameUserDeleted is published when a user is deleted ([UserDeleted]).
	NameUserDeleted = "user/deleted"
	// NameOrderCreated is published when an order is placed ([OrderCreated]).
	NameOrderCreated = "order/created"
	// NameOrderUpdated is published when an order changes status ([OrderUpdated]).
	NameOrderUpdated = "order/updated"
	// NameOrderCancelled is published when an order is cancelled ([OrderCancelled]).
	NameOrderCancelled = "order/cancelled"
	// NameProductCreated is published when a product is listed ([ProductCreated]).
	NameProductCreated = "product/created"
	// NameProductUpdated is published when a product changes ([ProductUpdated]).
	NameProductUpdated = "product/updated"
	// NameProductOutOfStock is published when a product's stock reaches 0 ([ProductOutOfStock]).
	NameProductOutOfStock = "product/out_of_stock"
	// NameNotificationSend asks for an email, SMS or push message ([NotificationSend]).
	NameNotificationSend = "notification/send"
	// NameAnalyticsTrack records an analytics event ([AnalyticsTrack]).
	NameAnalyticsTrack = "analytics/track"
	// NameSearchIndex asks for a product or shop to be (re)indexed ([SearchIndex]).
	NameSearchIndex = "search/index"
	// NameCleanupExpiredSessions asks for expired sessions to be removed ([CleanupExpiredSessions]).
	NameCleanupExpiredSessions = "cleanup/expired_sessions"
	// NameCleanupOldLogs asks for old application logs to be removed ([CleanupOldLogs]).
	NameCleanupOldLogs = "cleanup/old_logs"
)

// Order status values, in lifecycle order. See [OrderStatuses].
const (
	orderStatusPlaced         = "placed"
	orderStatusConfirmed      = "confirmed"
	orderStatusPacked         = "packed"
	orderStatusOutForDelivery = "out_for_delivery"
	orderStatusDelivered      = "delivered"
	orderStatusCancelled      = "cancelled"
)

// OrderStatuses returns the order status values accepted in
// [OrderUpdated], in lifecycle order: placed, confirmed, packed,
// out_for_delivery, delivered, cancelled. The slice is new on every call,
// so callers may modify it.
func OrderStatuses() []string {
	return []string{
		orderStatusPlaced,
		orderStatusConfirmed,
		orderStatusPacked,
		orderStatusOutForDelivery,
		orderStatusDelivered,
		orderStatusCancelled,
	}
}

// UserCreated is the data of user/created.
type UserCreated struct {
	// UserID is the new user's id. Required.
	UserID string `json:"userId"`
	// Email is the user's email address. Required, a valid address.
	Email string `json:"email"`
	// Name is the user's display name. Required.
	Name string `json:"name"`
	// Phone is the user's phone number, if given.
	Phone string `json:"phone,omitempty"`
}

// EventName returns [NameUserCreated].
func (UserCreated) EventName() string { return NameUserCreated }

// UserUpdated is the data of user/updated. Only the changed fields are set.
type UserUpdated struct {
	// UserID is the updated user's id. Required.
	UserID string `json:"userId"`
	// Email is the new email address, if it changed.
	Email *string `json:"email,omitempty"`
	// Name is the new display name, if it changed. Not empty.
	Name *string `json:"name,omitempty"`
	// Phone is the new phone number, if it changed; "" clears it.
	Phone *string `json:"phone,omitempty"`
}

// EventName returns [NameUserUpdated].
func (UserUpdated) EventName() string { return NameUserUpdated }

// UserDeleted is the data of user/deleted.
type UserDeleted struct {
	// UserID is the deleted user's id. Required.
	UserID string `json:"userId"`
}

// EventName returns [NameUserDeleted].
func (UserDeleted) EventName() string { return NameUserDeleted }

// OrderItem is one line of an order in [OrderCreated].
type OrderItem struct {
	// ProductID is the ordered product's id. Required.
	ProductID string `json:"productId"`
	// Quantity is how many were ordered. Required, > 0.
	Quantity int `json:"quantity"`
	// PricePaise is the unit price in paise at order time. Required, >= 0.
	PricePaise int64 `json:"pricePaise"`
}

// OrderCreated is the data of order/created.
type OrderCreated struct {
	// OrderID is the new order's id. Required.
	OrderID string `json:"orderId"`
	// UserID is the customer's id. Required.
	UserID string `json:"userId"`
	// ShopID is the shop the order was placed with. Required.
	ShopID string `json:"shopId"`
	// Items are the order lines. Required, not empty.
	Items []OrderItem `json:"items"`
	// TotalPaise is the order total in paise. Required, >= 0.
	TotalPaise int64 `json:"totalPaise"`
}

// EventName returns [NameOrderCreated].
func (OrderCreated) EventName() string { return NameOrderCreated }

// OrderUpdated is the data of order/updated: an order's status changed.
type OrderUpdated struct {
	// OrderID is the order's id. Required.
	OrderID string `json:"orderId"`
	// UserID is the customer's id. Required.
	UserID string `json:"userId"`
	// Status is the new status, one of [OrderStatuses]. Required.
	Status string `json:"status"`
	// PreviousStatus is the status before the change, one of
	// [OrderStatuses]. Required.
	PreviousStatus string `json:"previousStatus"`
}

// EventName returns [NameOrderUpdated].
func (OrderUpdated) EventName() string { return NameOrderUpdated }

// OrderCancelled is the data of order/cancelled.
type OrderCancelled struct {
	// OrderID is the cancelled order's id. Required.
	OrderID string `json:"orderId"`
	// UserID is the customer's id. Required.
	UserID string `json:"userId"`
	// Reason is why the order was cancelled, if given.
	Reason string `json:"reason,omitempty"`
}

// EventName returns [NameOrderCancelled].
func (OrderCancelled) EventName() string { return NameOrderCancelled }

// ProductCreated is the data of product/created.
type ProductCreated struct {
	// ProductID is the new product's id. Required.
	ProductID string `json:"productId"`
	// ShopID is the shop selling the product. Required.
	ShopID string `json:"shopId"`
	// Name is the product's name. Required.
	Name string `json:"name"`
}

// EventName returns [NameProductCreated].
func (ProductCreated) EventName() string { return NameProductCreated }

// ProductUpdated is the data of product/updated. Only the changed fields
// are set.
type ProductUpdated struct {
	// ProductID is the updated product's id. Required.
	ProductID string `json:"productId"`
	// ShopID is the product's shop, if it changed. Not empty.
	ShopID *string `json:"shopId,omitempty"`
	// Name is the new name, if it changed. Not empty.
	Name *string `json:"name,omitempty"`
	// Description is the new description, if it changed.
	Description *string `json:"description,omitempty"`
	// Category is the new category, if it changed.
	Category *string `json:"category,omitempty"`
	// PricePaise is the new price in paise, if it changed. >= 0.
	PricePaise *int64 `json:"pricePaise,omitempty"`
	// Stock is the new stock level, if it changed. >= 0.
	Stock *int `json:"stock,omitempty"`
}

// EventName returns [NameProductUpdated].
func (ProductUpdated) EventName() string { return NameProductUpdated }

// ProductOutOfStock is the data of product/out_of_stock.
type ProductOutOfStock struct {
	// ProductID is the product that ran out. Required.
	ProductID string `json:"productId"`
	// ShopID is the shop selling the product. Required.
	ShopID string `json:"shopId"`
	// Name is the product's name. Required.
	Name string `json:"name"`
}

// EventName returns [NameProductOutOfStock].
func (ProductOutOfStock) EventName() string { return NameProductOutOfStock }

// NotificationSend is the data of notification/send. At least one of To
// and UserID is required.
type NotificationSend struct {
	// Channel is "email", "sms" or "push". Required.
	Channel string `json:"channel"`
	// To is the recipient address or phone number. Required unless UserID
	// is set.
	To string `json:"to,omitempty"`
	// UserID is the recipient user. Required unless To is set.
	UserID string `json:"userId,omitempty"`
	// Subject is the message subject (email) or title (push), if any.
	Subject string `json:"subject,omitempty"`
	// Message is the message body. Required.
	Message string `json:"message"`
}

// EventName returns [NameNotificationSend].
func (NotificationSend) EventName() string { return NameNotificationSend }

// AnalyticsTrack is the data of analytics/track.
type AnalyticsTrack struct {
	// Event is the analytics event name, such as "Order Placed". Required.
	Event string `json:"event"`
	// UserID is the user the event is about, if any.
	UserID string `json:"userId,omitempty"`
	// Properties are free-form event properties, a JSON object.
	Properties map[string]any `json:"properties,omitempty"`
}

// EventName returns [NameAnalyticsTrack].
func (AnalyticsTrack) EventName() string { return NameAnalyticsTrack }

// SearchIndex is the data of search/index.
type SearchIndex struct {
	// Type is what to index: "product" or "shop". Required.
	Type string `json:"type"`
	// ID is the id of the product or shop. Required.
	ID string `json:"id"`
}

// EventName returns [NameSearchIndex].
func (SearchIndex) EventName() string { return NameSearchIndex }

// CleanupExpiredSessions is the data of cleanup/expired_sessions. It has
// no fields.
type CleanupExpiredSessions struct{}

// EventName returns [NameCleanupExpiredSessions].
func (CleanupExpiredSessions) EventName() string { return NameCleanupExpiredSessions }

// CleanupOldLogs is the data of cleanup/old_logs.
type CleanupOldLogs struct {
	// OlderThanDays removes logs older than this many days; > 0. Nil
	// leaves the choice to the worker's default.
	OlderThanDays *int `json:"olderThanDays,omitempty"`
}

// EventName returns [NameCleanupOldLogs].
func (CleanupOldLogs) EventName() string { return NameCleanupOldLogs }
