package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/mohallamart/backend/apperr"
	"github.com/mohallamart/backend/mart"
)

// created answers 201 with v and the Location of the new resource.
func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusCreated, v)
}

// required lists the fields a decoded body lacks; nil pointers are absent.
func required(fields map[string]bool) error {
	var details []apperr.FieldError
	for _, name := range sortedKeys(fields) {
		if !fields[name] {
			details = append(details, apperr.FieldError{Field: name, Message: "is required"})
		}
	}
	if len(details) == 0 {
		return nil
	}
	return invalid("The request is invalid.", details...)
}

type createUserBody struct {
	Email string  `json:"email"`
	Name  string  `json:"name"`
	Phone *string `json:"phone"`
}

func (s *server) createUser(w http.ResponseWriter, r *http.Request) {
	var b createUserBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Mart.CreateUser(r.Context(), mart.CreateUserParams{Email: b.Email, Name: b.Name, Phone: b.Phone})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created(w, "/v1/users/"+u.ID, u)
}

func (s *server) getUser(w http.ResponseWriter, r *http.Request) {
	u, err := s.Mart.GetUser(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

type updateUserBody struct {
	Email *string `json:"email"`
	Name  *string `json:"name"`
	Phone *string `json:"phone"`
}

func (s *server) updateUser(w http.ResponseWriter, r *http.Request) {
	var b updateUserBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.Mart.UpdateUser(r.Context(), r.PathValue("id"), mart.UpdateUserParams(b))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (s *server) deleteUser(w http.ResponseWriter, r *http.Request) {
	if err := s.Mart.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type createShopBody struct {
	Name    string `json:"name"`
	OwnerID string `json:"ownerId"`
	Address string `json:"address"`
}

func (s *server) createShop(w http.ResponseWriter, r *http.Request) {
	var b createShopBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	shop, err := s.Mart.CreateShop(r.Context(), mart.CreateShopParams(b))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created(w, "/v1/shops/"+shop.ID, shop)
}

func (s *server) getShop(w http.ResponseWriter, r *http.Request) {
	shop, err := s.Mart.GetShop(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, shop)
}

type createProductBody struct {
	ShopID      string `json:"shopId"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Category    string `json:"category"`
	PricePaise  *int64 `json:"pricePaise"`
	Stock       *int   `json:"stock"`
}

func (s *server) createProduct(w http.ResponseWriter, r *http.Request) {
	var b createProductBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := required(map[string]bool{"pricePaise": b.PricePaise != nil, "stock": b.Stock != nil}); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.Mart.CreateProduct(r.Context(), mart.CreateProductParams{
		ShopID: b.ShopID, Name: b.Name, Description: b.Description, Category: b.Category,
		PricePaise: *b.PricePaise, Stock: *b.Stock,
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created(w, "/v1/products/"+p.ID, p)
}

func (s *server) getProduct(w http.ResponseWriter, r *http.Request) {
	p, err := s.Mart.GetProduct(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

type updateProductBody struct {
	Name        *string `json:"name"`
	Description *string `json:"description"`
	Category    *string `json:"category"`
	PricePaise  *int64  `json:"pricePaise"`
	Stock       *int    `json:"stock"`
}

func (s *server) updateProduct(w http.ResponseWriter, r *http.Request) {
	var b updateProductBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.Mart.UpdateProduct(r.Context(), r.PathValue("id"), mart.UpdateProductParams(b))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *server) deleteProduct(w http.ResponseWriter, r *http.Request) {
	if err := s.Mart.DeleteProduct(r.Context(), r.PathValue("id")); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type placeOrderBody struct {
	UserID string `json:"userId"`
	ShopID string `json:"shopId"`
	// Items are decoded one by one so errors name their index.
	Items []json.RawMessage `json:"items"`
}

type placeOrderItemBody struct {
	ProductID string `json:"productId"`
	Quantity  int    `json:"quantity"`
}

func (s *server) placeOrder(w http.ResponseWriter, r *http.Request) {
	var b placeOrderBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := mart.PlaceOrderParams{UserID: b.UserID, ShopID: b.ShopID, Items: make([]mart.PlaceOrderItem, len(b.Items))}
	var details []apperr.FieldError
	for i, raw := range b.Items {
		var it placeOrderItemBody
		if field, msg := decodeStrict(raw, &it); msg != "" {
			path := fmt.Sprintf("items[%d]", i)
			if field != "" {
				path += "." + field
			}
			details = append(details, apperr.FieldError{Field: path, Message: msg})
		}
		p.Items[i] = mart.PlaceOrderItem(it)
	}
	if len(details) > 0 {
		s.writeError(w, r, invalid("The request is invalid.", details...))
		return
	}
	o, err := s.Mart.PlaceOrder(r.Context(), p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	created(w, "/v1/orders/"+o.ID, o)
}

func (s *server) getOrder(w http.ResponseWriter, r *http.Request) {
	o, err := s.Mart.GetOrder(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

type updateOrderBody struct {
	Status *string `json:"status"`
}

func (s *server) updateOrder(w http.ResponseWriter, r *http.Request) {
	var b updateOrderBody
	if err := decodeBody(w, r, &b, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := required(map[string]bool{"status": b.Status != nil}); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.Mart.UpdateOrderStatus(r.Context(), r.PathValue("id"), *b.Status)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

type cancelOrderBody struct {
	Reason string `json:"reason"`
}

func (s *server) cancelOrder(w http.ResponseWriter, r *http.Request) {
	var b cancelOrderBody
	if err := decodeBody(w, r, &b, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.Mart.CancelOrder(r.Context(), r.PathValue("id"), b.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

// sortedKeys returns m's keys in order, for stable error details.
func sortedKeys(m map[string]bool) []string {
	return slices.Sorted(maps.Keys(m))
}
