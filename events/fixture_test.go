package events

// example is a valid event of the catalog: its data as JSON, with every
// optional field set, and the payload Decode must return for it.
type example struct {
	data    string
	payload Payload
}

func ptr[T any](v T) *T { return &v }

// examples returns one valid example for every catalog event.
func examples() map[string]example {
	return map[string]example{
		NameUserCreated: {
			data:    `{"userId":"u_1","email":"asha@example.com","name":"Asha","phone":"+919800000001"}`,
			payload: UserCreated{UserID: "u_1", Email: "asha@example.com", Name: "Asha", Phone: "+919800000001"},
		},
		NameUserUpdated: {
			data:    `{"userId":"u_1","email":"asha.k@example.com","name":"Asha K","phone":""}`,
			payload: UserUpdated{UserID: "u_1", Email: ptr("asha.k@example.com"), Name: ptr("Asha K"), Phone: ptr("")},
		},
		NameUserDeleted: {
			data:    `{"userId":"u_1"}`,
			payload: UserDeleted{UserID: "u_1"},
		},
		NameOrderCreated: {
			data: `{"orderId":"o_1","userId":"u_1","shopId":"s_1","items":[` +
				`{"productId":"p_1","quantity":2,"pricePaise":1249},` +
				`{"productId":"p_2","quantity":1,"pricePaise":0}],"totalPaise":2498}`,
			payload: OrderCreated{
				OrderID: "o_1", UserID: "u_1", ShopID: "s_1",
				Items: []OrderItem{
					{ProductID: "p_1", Quantity: 2, PricePaise: 1249},
					{ProductID: "p_2", Quantity: 1, PricePaise: 0},
				},
				TotalPaise: 2498,
			},
		},
		NameOrderUpdated: {
			data:    `{"orderId":"o_1","userId":"u_1","status":"confirmed","previousStatus":"placed"}`,
			payload: OrderUpdated{OrderID: "o_1", UserID: "u_1", Status: "confirmed", PreviousStatus: "placed"},
		},
		NameOrderCancelled: {
			data:    `{"orderId":"o_1","userId":"u_1","reason":"changed my mind"}`,
			payload: OrderCancelled{OrderID: "o_1", UserID: "u_1", Reason: "changed my mind"},
		},
		NameProductCreated: {
			data:    `{"productId":"p_1","shopId":"s_1","name":"Basmati rice 1kg"}`,
			payload: ProductCreated{ProductID: "p_1", ShopID: "s_1", Name: "Basmati rice 1kg"},
		},
		NameProductUpdated: {
			data: `{"productId":"p_1","shopId":"s_2","name":"Basmati rice 5kg","description":"Aged",` +
				`"category":"grains","pricePaise":59900,"stock":0}`,
			payload: ProductUpdated{
				ProductID: "p_1", ShopID: ptr("s_2"), Name: ptr("Basmati rice 5kg"), Description: ptr("Aged"),
				Category: ptr("grains"), PricePaise: ptr(int64(59900)), Stock: ptr(0),
			},
		},
		NameProductOutOfStock: {
			data:    `{"productId":"p_1","shopId":"s_1","name":"Basmati rice 1kg"}`,
			payload: ProductOutOfStock{ProductID: "p_1", ShopID: "s_1", Name: "Basmati rice 1kg"},
		},
		NameNotificationSend: {
			data:    `{"channel":"email","to":"asha@example.com","userId":"u_1","subject":"Hi","message":"Your order is on its way"}`,
			payload: NotificationSend{Channel: "email", To: "asha@example.com", UserID: "u_1", Subject: "Hi", Message: "Your order is on its way"},
		},
		NameAnalyticsTrack: {
			data: `{"event":"Order Placed","userId":"u_1","properties":{"orderId":"o_1","total":2498,"tags":["new"]}}`,
			payload: AnalyticsTrack{
				Event: "Order Placed", UserID: "u_1",
				Properties: map[string]any{"orderId": "o_1", "total": float64(2498), "tags": []any{"new"}},
			},
		},
		NameSearchIndex: {
			data:    `{"type":"shop","id":"s_1"}`,
			payload: SearchIndex{Type: "shop", ID: "s_1"},
		},
		NameCleanupExpiredSessions: {
			data:    `{}`,
			payload: CleanupExpiredSessions{},
		},
		NameCleanupOldLogs: {
			data:    `{"olderThanDays":30}`,
			payload: CleanupOldLogs{OlderThanDays: ptr(30)},
		},
	}
}
