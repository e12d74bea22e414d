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
			data:    `{"userId":"10000000-0000-4000-8000-000000000001","email":"asha@example.com","name":"Asha","phone":"+919800000001"}`,
			payload: UserCreated{UserID: "10000000-0000-4000-8000-000000000001", Email: "asha@example.com", Name: "Asha", Phone: "+919800000001"},
		},
		NameUserUpdated: {
			data:    `{"userId":"10000000-0000-4000-8000-000000000001","email":"asha.k@example.com","name":"Asha K","phone":""}`,
			payload: UserUpdated{UserID: "10000000-0000-4000-8000-000000000001", Email: ptr("asha.k@example.com"), Name: ptr("Asha K"), Phone: ptr("")},
		},
		NameUserDeleted: {
			data:    `{"userId":"10000000-0000-4000-8000-000000000001"}`,
			payload: UserDeleted{UserID: "10000000-0000-4000-8000-000000000001"},
		},
		NameOrderCreated: {
			data: `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","items":[` +
				`{"productId":"40000000-0000-4000-8000-000000000001","quantity":2,"pricePaise":1249},` +
				`{"productId":"40000000-0000-4000-8000-000000000002","quantity":1,"pricePaise":0}],"totalPaise":2498}`,
			payload: OrderCreated{
				OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001", ShopID: "20000000-0000-4000-8000-000000000001",
				Items: []OrderItem{
					{ProductID: "40000000-0000-4000-8000-000000000001", Quantity: 2, PricePaise: 1249},
					{ProductID: "40000000-0000-4000-8000-000000000002", Quantity: 1, PricePaise: 0},
				},
				TotalPaise: 2498,
			},
		},
		NameOrderUpdated: {
			data:    `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","status":"confirmed","previousStatus":"placed"}`,
			payload: OrderUpdated{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001", Status: "confirmed", PreviousStatus: "placed"},
		},
		NameOrderCancelled: {
			data:    `{"orderId":"30000000-0000-4000-8000-000000000001","userId":"10000000-0000-4000-8000-000000000001","reason":"changed my mind"}`,
			payload: OrderCancelled{OrderID: "30000000-0000-4000-8000-000000000001", UserID: "10000000-0000-4000-8000-000000000001", Reason: "changed my mind"},
		},
		NameProductCreated: {
			data:    `{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","name":"Basmati rice 1kg"}`,
			payload: ProductCreated{ProductID: "40000000-0000-4000-8000-000000000001", ShopID: "20000000-0000-4000-8000-000000000001", Name: "Basmati rice 1kg"},
		},
		NameProductUpdated: {
			data: `{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000002","name":"Basmati rice 5kg","description":"Aged",` +
				`"category":"grains","pricePaise":59900,"stock":0}`,
			payload: ProductUpdated{
				ProductID: "40000000-0000-4000-8000-000000000001", ShopID: ptr("20000000-0000-4000-8000-000000000002"), Name: ptr("Basmati rice 5kg"), Description: ptr("Aged"),
				Category: ptr("grains"), PricePaise: ptr(int64(59900)), Stock: ptr(0),
			},
		},
		NameProductOutOfStock: {
			data:    `{"productId":"40000000-0000-4000-8000-000000000001","shopId":"20000000-0000-4000-8000-000000000001","name":"Basmati rice 1kg"}`,
			payload: ProductOutOfStock{ProductID: "40000000-0000-4000-8000-000000000001", ShopID: "20000000-0000-4000-8000-000000000001", Name: "Basmati rice 1kg"},
		},
		NameNotificationSend: {
			data:    `{"channel":"email","to":"asha@example.com","userId":"10000000-0000-4000-8000-000000000001","subject":"Hi","message":"Your order is on its way"}`,
			payload: NotificationSend{Channel: "email", To: "asha@example.com", UserID: "10000000-0000-4000-8000-000000000001", Subject: "Hi", Message: "Your order is on its way"},
		},
		NameAnalyticsTrack: {
			data: `{"event":"Order Placed","userId":"10000000-0000-4000-8000-000000000001","properties":{"orderId":"30000000-0000-4000-8000-000000000001","total":2498,"tags":["new"]}}`,
			payload: AnalyticsTrack{
				Event: "Order Placed", UserID: "10000000-0000-4000-8000-000000000001",
				Properties: map[string]any{"orderId": "30000000-0000-4000-8000-000000000001", "total": float64(2498), "tags": []any{"new"}},
			},
		},
		NameSearchIndex: {
			data:    `{"type":"shop","id":"20000000-0000-4000-8000-000000000001"}`,
			payload: SearchIndex{Type: "shop", ID: "20000000-0000-4000-8000-000000000001"},
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
