// Package events is MohallaMart's event catalog: the event names, their
// typed payloads, validation of incoming events, and a JSON Schema for the
// data of every catalog event.
//
// Events are Inngest-shaped: a name such as "order/created" plus a JSON
// object of data. Application code builds them from typed payloads with
// [New]; the event API receives them over HTTP and checks them with
// [Validate] or [ValidateAll] before anything is written. Workers turn the
// stored data back into a typed payload with [Decode].
//
// # Catalog
//
// Required data fields are marked with *.
//
//	user/created              userId*, email*, name*, phone
//	user/updated              userId*, email, name, phone (the changed fields)
//	user/deleted              userId*
//	order/created             orderId*, userId*, shopId*, items*[{productId*, quantity*, pricePaise*}], totalPaise*
//	order/updated             orderId*, userId*, status*, previousStatus*
//	order/cancelled           orderId*, userId*, reason
//	product/created           productId*, shopId*, name*
//	product/updated           productId*, shopId, name, description, category, pricePaise, stock (the changed fields)
//	product/out_of_stock      productId*, shopId*, name*
//	notification/send         channel* (email, sms, push), to or userId*, subject, message*
//	analytics/track           event*, userId, properties
//	search/index              type* (product, shop), id*
//	cleanup/expired_sessions  (no data)
//	cleanup/old_logs          olderThanDays
//
// Money is integer paise and ids are strings. A product price is at most
// [MaxPricePaise] (₹10 crore) and an order total at most [MaxTotalPaise]
// (2^53 − 1). The ids that jobs look rows up by (those of orders, products
// and shops, and the userId of user/deleted, the order events and
// notification/send) are UUIDs, in either case; the publisher stores them
// in lower case ([Normalize]). Order status values are listed by
// [OrderStatuses].
//
// # Validation
//
// Validation reports every failing field of every event at once, as a
// [*ValidationError] whose [FieldError] paths look like "data.email" or
// "data.items[0].quantity". The data of a catalog event must be a JSON
// object with the catalog's fields of the right types; absent or null data
// counts as {}. Optional fields may be null, which means absent. Phone
// numbers are E.164 ([ValidPhone]).
//
// Event data is read tolerantly: properties the catalog does not list are
// accepted, stored with the event and ignored by [Decode], so a sender can
// add a field without breaking its sends. A property that differs from a
// listed one only in letter case ("UserID") is reported, since
// encoding/json would decode it into the listed field. Events with names
// outside the catalog ("custom" events) are accepted with any object as
// data; they have no schema and [Decode] returns no payload for them.
//
// Whatever the event, its name and data must be storable by PostgreSQL:
// no NUL character (\u0000) in any string or key, valid UTF-8, no unpaired
// surrogate escape, and numbers within PostgreSQL's numeric type.
// A new event's ts, when set, falls in the years 2000 to 9999 ([TSProblem]).
//
// The rules new events only are held to, ts's range and ids as UUIDs, are
// left out by [Decode], which reads events already stored: one stored
// before the rules existed still decodes.
//
// # One table, two outputs
//
// Each catalog event is described once, by an unexported field table. The
// validator walks that table and [Schema] renders it as JSON Schema (draft
// 2020-12), so the two cannot disagree. The tests check the table against
// the json tags of the payload structs.
package events
