package seed_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/mohallamart/backend/db/dbtest"
	"github.com/mohallamart/backend/internal/seed"
	"github.com/mohallamart/backend/jobs/jobstest"
	"github.com/mohallamart/backend/mart"
	"github.com/mohallamart/backend/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// publisher is the outbox of an insert-only River client routing to the
// server's functions, as `server seed` uses.
func publisher(t *testing.T, pool *pgxpool.Pool) *outbox.Outbox {
	t.Helper()
	client, err := river.NewClient(riverpgxv5.New(pool), &river.Config{})
	require.NoError(t, err)
	return outbox.New(client, jobstest.Registry(t, pool))
}

// rowCounts counts the rows a seed run can write.
func rowCounts(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, table := range []string{"users", "shops", "products", "orders", "order_items", "events", "river_job"} {
		var n int
		require.NoError(t, pool.QueryRow(t.Context(), "SELECT count(*) FROM "+table).Scan(&n))
		out[table] = n
	}
	return out
}

// orderStatuses is each order's status by "customer email @ shop name".
func orderStatuses(t *testing.T, pool *pgxpool.Pool) map[string]string {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT lower(u.email) || ' @ ' || s.name, o.status
		FROM orders o JOIN users u ON u.id = o.user_id JOIN shops s ON s.id = o.shop_id`)
	require.NoError(t, err)
	out := map[string]string{}
	for rows.Next() {
		var k, v string
		require.NoError(t, rows.Scan(&k, &v))
		out[k] = v
	}
	require.NoError(t, rows.Err())
	return out
}

// wantStatuses are the demo's orders and the states the seed leaves them in.
func wantStatuses() map[string]string {
	return map[string]string{
		"asha.iyer@mohalla.example @ Gupta Kirana Store":   "placed",
		"ravi.kumar@mohalla.example @ Sharma Sweets":       "confirmed",
		"asha.iyer@mohalla.example @ Sharma Sweets":        "packed",
		"meera.nair@mohalla.example @ Fresh Sabzi Wala":    "out_for_delivery",
		"arjun.singh@mohalla.example @ Gupta Kirana Store": "delivered",
		"ravi.kumar@mohalla.example @ Fresh Sabzi Wala":    "cancelled",
	}
}

// TestSeedTwice: the first run creates the neighbourhood through the domain
// writes (so their events and jobs are there too), with its orders in their
// states; the second creates nothing and reports everything as existing.
func TestSeedTwice(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	pub := publisher(t, pool)

	first, err := seed.Run(ctx, pool, pub)
	require.NoError(t, err)
	require.Equal(t, seed.Counts{Users: 7, Shops: 3, Products: 11, Orders: 6}, first.Created)
	require.Equal(t, seed.Counts{}, first.Existing)
	require.Equal(t, wantStatuses(), orderStatuses(t, pool))
	require.Len(t, first.Orders, 6)
	for _, o := range first.Orders {
		require.Equal(t, wantStatuses()[emailOf(t, pool, o.Customer)+" @ "+o.Shop], o.Status, "summary of %s at %s", o.Customer, o.Shop)
		require.Positive(t, o.TotalPaise)
	}
	after := rowCounts(t, pool)
	require.Equal(t, 7, after["users"])
	require.Equal(t, 6, after["orders"])

	// What the writes published: one welcome email per user, one
	// confirmation per order, one update per status change, the rasmalai's
	// out-of-stock alert and the out-for-delivery SMS.
	jobs := jobKinds(t, pool)
	require.Equal(t, 7, jobs["send_welcome_email"])
	require.Equal(t, 6, jobs["send_order_confirmation"])
	require.Equal(t, 1+2+3+4+1, jobs["send_order_update"], "confirmed 1, packed 2, out for delivery 3, delivered 4 steps, cancelled 1")
	require.Equal(t, 1, jobs["process_out_of_stock_alert"])
	require.Equal(t, 1, jobs["send_notification"])
	var stock int
	require.NoError(t, pool.QueryRow(ctx, `SELECT stock FROM products WHERE name = 'Rasmalai (box of 4)'`).Scan(&stock))
	require.Zero(t, stock)

	second, err := seed.Run(ctx, pool, pub)
	require.NoError(t, err)
	require.Equal(t, seed.Counts{}, second.Created)
	require.Equal(t, first.Created, second.Existing)
	require.Equal(t, first.Orders, second.Orders)
	require.Equal(t, after, rowCounts(t, pool), "a second run writes nothing")
	require.Equal(t, wantStatuses(), orderStatuses(t, pool))
}

// TestSeedMovesOnAnExistingOrder: an order of the demo's found in an earlier
// state (a run interrupted after placing it) is moved on to the demo's
// state, and nothing else is placed for it.
func TestSeedMovesOnAnExistingOrder(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pool := dbtest.NewPool(ctx, t)
	pub := publisher(t, pool)
	svc := mart.NewService(pool, pub)

	meera, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "Meera.Nair@mohalla.example", Name: "Meera"})
	require.NoError(t, err)
	owner, err := svc.CreateUser(ctx, mart.CreateUserParams{Email: "imran.qureshi@mohalla.example", Name: "Imran"})
	require.NoError(t, err)
	shop, err := svc.CreateShop(ctx, mart.CreateShopParams{Name: "Fresh Sabzi Wala", OwnerID: owner.ID})
	require.NoError(t, err)
	tomatoes, err := svc.CreateProduct(ctx, mart.CreateProductParams{ShopID: shop.ID, Name: "Tomatoes 1kg", PricePaise: 3500, Stock: 80})
	require.NoError(t, err)
	order, err := svc.PlaceOrder(ctx, mart.PlaceOrderParams{UserID: meera.ID, ShopID: shop.ID, Items: []mart.PlaceOrderItem{{ProductID: tomatoes.ID, Quantity: 1}}})
	require.NoError(t, err)

	sum, err := seed.Run(ctx, pool, pub)
	require.NoError(t, err)
	require.Equal(t, seed.Counts{Users: 2, Shops: 1, Products: 1, Orders: 1}, sum.Existing)
	require.Equal(t, seed.Counts{Users: 5, Shops: 2, Products: 10, Orders: 5}, sum.Created)
	got, err := svc.GetOrder(ctx, order.ID)
	require.NoError(t, err)
	require.Equal(t, mart.StatusOutForDelivery, got.Status)
	require.Equal(t, 1, jobKinds(t, pool)["send_notification"], "the out-for-delivery SMS")
	require.Equal(t, wantStatuses(), orderStatuses(t, pool))
}

func emailOf(t *testing.T, pool *pgxpool.Pool, name string) string {
	t.Helper()
	var email string
	require.NoError(t, pool.QueryRow(t.Context(), `SELECT email FROM users WHERE name = $1`, name).Scan(&email))
	return email
}

// jobKinds counts the River jobs by kind.
func jobKinds(t *testing.T, pool *pgxpool.Pool) map[string]int {
	t.Helper()
	rows, err := pool.Query(t.Context(), `SELECT kind, count(*) FROM river_job GROUP BY kind`)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var (
			kind string
			n    int
		)
		require.NoError(t, rows.Scan(&kind, &n))
		out[kind] = n
	}
	require.NoError(t, rows.Err())
	return out
}
