package seed

import "github.com/mohallamart/backend/mart"

// person is a demo user. Emails are at mohalla.example, a reserved domain
// (RFC 2606): nothing is ever delivered there.
type person struct {
	Name, Email, Phone string

	id string // set once found or created
}

type productSpec struct {
	Name, Category, Description string
	PricePaise                  int64
	Stock                       int
}

type shopSpec struct {
	Name, Address string
	Owner         person
	Products      []productSpec
}

type itemSpec struct {
	Product  string
	Quantity int
}

// orderSpec is a demo order: who (email), where (shop name), what, and the
// status the demo leaves it in.
type orderSpec struct {
	Customer     string
	Shop         string
	Items        []itemSpec
	Status       string
	CancelReason string
	// SMS, when set, is texted to the customer as the order goes out for
	// delivery.
	SMS string
}

type demo struct {
	shops     []shopSpec
	customers []person
	orders    []orderSpec
}

// Demo shop names, used by the orders.
const (
	gupta  = "Gupta Kirana Store"
	sharma = "Sharma Sweets"
	sabzi  = "Fresh Sabzi Wala"
)

// neighbourhood is the demo: three shops, four customers, and an order in
// each state. Sharma Sweets' rasmalai sells out, which alerts its owner by
// email and push.
func neighbourhood() demo {
	return demo{
		shops: []shopSpec{
			{
				Name: gupta, Address: "12 MG Road, Indiranagar",
				Owner: person{Name: "Ramesh Gupta", Email: "ramesh.gupta@mohalla.example", Phone: "+919800000101"},
				Products: []productSpec{
					{Name: "Basmati Rice 5kg", Category: "grains", Description: "Aged long-grain basmati.", PricePaise: 62450, Stock: 40},
					{Name: "Toor Dal 1kg", Category: "pulses", Description: "Unpolished toor dal.", PricePaise: 14900, Stock: 60},
					{Name: "Chakki Atta 10kg", Category: "grains", Description: "Whole wheat flour, stone ground.", PricePaise: 42500, Stock: 25},
					{Name: "Groundnut Oil 1L", Category: "oils", Description: "Cold-pressed.", PricePaise: 21000, Stock: 30},
				},
			},
			{
				Name: sharma, Address: "4 Bazaar Lane, Old Town",
				Owner: person{Name: "Sunita Sharma", Email: "sunita.sharma@mohalla.example", Phone: "+919800000102"},
				Products: []productSpec{
					{Name: "Kaju Katli 500g", Category: "sweets", Description: "Cashew fudge with silver leaf.", PricePaise: 55000, Stock: 20},
					{Name: "Rasmalai (box of 4)", Category: "sweets", Description: "Made fresh every morning; few boxes a day.", PricePaise: 24000, Stock: 2},
					{Name: "Samosa (2 pcs)", Category: "snacks", Description: "Potato and peas.", PricePaise: 4000, Stock: 100},
				},
			},
			{
				Name: sabzi, Address: "Stall 7, Sunday Market",
				Owner: person{Name: "Imran Qureshi", Email: "imran.qureshi@mohalla.example", Phone: "+919800000103"},
				Products: []productSpec{
					{Name: "Tomatoes 1kg", Category: "vegetables", PricePaise: 3500, Stock: 80},
					{Name: "Onions 1kg", Category: "vegetables", PricePaise: 4200, Stock: 80},
					{Name: "Coriander bunch", Category: "herbs", PricePaise: 1000, Stock: 50},
					{Name: "Alphonso Mangoes (dozen)", Category: "fruit", PricePaise: 90000, Stock: 10},
				},
			},
		},
		customers: []person{
			{Name: "Asha Iyer", Email: "asha.iyer@mohalla.example", Phone: "+919800000201"},
			{Name: "Ravi Kumar", Email: "ravi.kumar@mohalla.example", Phone: "+919800000202"},
			{Name: "Meera Nair", Email: "meera.nair@mohalla.example", Phone: "+919800000203"},
			{Name: "Arjun Singh", Email: "arjun.singh@mohalla.example", Phone: "+919800000204"},
		},
		orders: []orderSpec{
			{
				Customer: "asha.iyer@mohalla.example", Shop: gupta, Status: mart.StatusPlaced,
				Items: []itemSpec{{"Basmati Rice 5kg", 1}, {"Toor Dal 1kg", 2}},
			},
			{
				Customer: "ravi.kumar@mohalla.example", Shop: sharma, Status: mart.StatusConfirmed,
				Items: []itemSpec{{"Kaju Katli 500g", 1}, {"Rasmalai (box of 4)", 2}},
			},
			{
				Customer: "asha.iyer@mohalla.example", Shop: sharma, Status: mart.StatusPacked,
				Items: []itemSpec{{"Samosa (2 pcs)", 6}},
			},
			{
				Customer: "meera.nair@mohalla.example", Shop: sabzi, Status: mart.StatusOutForDelivery,
				Items: []itemSpec{{"Tomatoes 1kg", 2}, {"Onions 1kg", 1}, {"Coriander bunch", 1}},
				SMS:   "MohallaMart: your Fresh Sabzi Wala order is out for delivery and will reach you within the hour.",
			},
			{
				Customer: "arjun.singh@mohalla.example", Shop: gupta, Status: mart.StatusDelivered,
				Items: []itemSpec{{"Chakki Atta 10kg", 1}, {"Groundnut Oil 1L", 2}},
			},
			{
				Customer: "ravi.kumar@mohalla.example", Shop: sabzi, Status: mart.StatusCancelled,
				Items:        []itemSpec{{"Alphonso Mangoes (dozen)", 1}},
				CancelReason: "Ordered twice by mistake",
			},
		},
	}
}
